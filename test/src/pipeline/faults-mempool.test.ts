import { expect } from "chai";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { PipelineError, type TwinPipeline } from "../../../src/pipeline";
import { awaitSettled, sendStateOf } from "../../../src/pipeline/transactions";
import { twinFixture } from "../../fixtures";
import { cohortSmall, countBlobs, removeFolders } from "./harness";
import {
  faultService,
  FaultySigner,
  readingBatchesOnChain,
  recordBatchesOnChain,
  type FaultService,
  type SendFault,
} from "./faults-doubles";

/**
 * A transaction still in the node's mempool when recovery asks (a chain whose blocks do not come on every send:
 * Hardhat with automine off, mining on demand or at an interval) is pending, not "not anchored": recovery waits for it
 * (bounded), keeps its journal while it stays pending, and sends again only once it is dropped.
 */

const send = (method: string, params: unknown[] = []) => network.provider.send(method, params);

/** Blocks only when asked (`evm_mine`), or every `intervalMs`. */
async function manualMining(intervalMs = 0): Promise<void> {
  await send("evm_setAutomine", [false]);
  await send("evm_setIntervalMining", [intervalMs]);
}

async function automine(): Promise<void> {
  await send("evm_setIntervalMining", [0]);
  await send("evm_setAutomine", [true]);
}

async function rejection(run: Promise<unknown>): Promise<PipelineError> {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(PipelineError);
  expect((error as PipelineError).code).to.equal("ANCHOR_FAILED");
  return error as PipelineError;
}

describe("pipeline/faults: a transaction pending in the mempool is waited for, never doubled", function () {
  this.timeout(120_000);
  afterEach(automine);

  describe("sendStateOf: mined, pending or dropped", () => {
    it("tells them by hash and by nonce, and waits (bounded) while pending", async () => {
      const f = await loadFixture(twinFixture);
      const provider = ethers.provider;
      const source = f.emr.address;
      await manualMining();
      const tx = await f.emr.sendTransaction({ to: source, value: 0 });
      const byHash = { source, transactionHash: tx.hash };
      const byNonce = { source, nonce: tx.nonce };
      expect(await sendStateOf(provider, byHash)).to.equal("pending");
      expect(await sendStateOf(provider, byNonce)).to.equal("pending");
      expect(await sendStateOf(provider, { source, nonceFloor: tx.nonce })).to.equal("pending");
      const started = Date.now();
      expect(await awaitSettled(provider, byHash, { timeoutMs: 300, pollMs: 50 })).to.equal("pending");
      expect(Date.now() - started).to.be.at.least(250);
      await send("evm_mine");
      expect(await sendStateOf(provider, byHash)).to.equal("mined");
      expect(await sendStateOf(provider, byNonce)).to.equal("mined");
      expect(await sendStateOf(provider, { source, nonceFloor: tx.nonce })).to.equal("mined");

      const dropped = await f.emr.sendTransaction({ to: source, value: 0 });
      await send("hardhat_dropTransaction", [dropped.hash]);
      expect(await sendStateOf(provider, { source, transactionHash: dropped.hash })).to.equal("dropped");
      expect(await sendStateOf(provider, { source, nonce: dropped.nonce })).to.equal("dropped");
      expect(await sendStateOf(provider, { source, nonceFloor: dropped.nonce })).to.equal("dropped");
      // nothing pending: awaitSettled answers at once
      expect(await awaitSettled(provider, { source, nonce: dropped.nonce }, { timeoutMs: 60_000 })).to.equal("dropped");
    });
  });

  describe("the pipeline", () => {
    let service: FaultService;
    const opened: TwinPipeline[] = [];
    const open = async (extra: Parameters<FaultService["open"]>[0] = {}): Promise<TwinPipeline> => {
      const pipeline = await service.open(extra);
      opened.push(pipeline);
      return pipeline;
    };
    const blobs = () => countBlobs(join(service.folders.root, "blobs"));
    let emr: unknown;

    beforeEach(async () => {
      service = await faultService();
      emr = (await cohortSmall()).patients[0].emr;
    });
    afterEach(async () => {
      await automine();
      for (const pipeline of opened.splice(0)) await pipeline.close();
      await removeFolders(service?.folders);
    });

    it("EMR: the anchor's answer lost while it is pending: recovery waits for its block and indexes it", async () => {
      const { f } = service;
      const pipeline = await open({ anchorWaitMs: 20_000 });
      await manualMining(500);
      const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? "unanswered" : "ok"));
      const error = await rejection(pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }));
      expect(error.message).to.match(/anchored after all and is indexed/);
      expect(await recordBatchesOnChain(f)).to.equal(1);
      const held = await pipeline.records(f.twinId, 0xffffffff);
      expect(held.length).to.be.greaterThan(0);
      const retry = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
      expect(retry.records).to.equal(0);
      expect(signer.sends).to.equal(1); // never a second anchorRecords
      expect(await recordBatchesOnChain(f)).to.equal(1);
      expect(await blobs()).to.equal(held.length);
    });

    it("EMR: still pending after the wait: journaled, nothing sent again (across a restart), indexed once mined", async () => {
      const { f } = service;
      // replacements at the same nonce are faults-feebump.test.ts's: here none, so every send is counted
      const pipeline = await open({ anchorWaitMs: 300, feeBump: { maxReplacements: 0 } });
      await manualMining();
      const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? "unanswered" : "ok"));
      const error = await rejection(pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }));
      expect(error.message).to.match(/journaled/);
      const stored = await blobs();
      expect(stored).to.be.greaterThan(0); // not swept: the anchor may still come
      // a retry while it is still pending is refused, and sends nothing
      const again = await rejection(pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }));
      expect(again.message).to.match(/still pending/);
      const restarted = await open({ anchorWaitMs: 300, feeBump: { maxReplacements: 0 } });
      expect(restarted.holding(f.twinId)).to.equal("unknown");
      expect(signer.sends).to.equal(1);
      expect(
        (await ethers.provider.getTransactionCount(f.emr.address, "pending")) -
          (await ethers.provider.getTransactionCount(f.emr.address, "latest")),
      ).to.equal(1);
      await send("evm_mine");
      await automine();
      const retry = await restarted.ingestEmr(f.twinId, emr, { sourceSigner: signer });
      expect(retry.records).to.equal(0);
      expect(retry.unchanged).to.be.greaterThan(0);
      expect(restarted.version(f.twinId).version.version).to.equal(1);
      expect(signer.sends).to.equal(1);
      expect(await recordBatchesOnChain(f)).to.equal(1);
      expect(await blobs()).to.equal(stored);
    });

    it("EMR: the anchor dropped from the mempool: swept, and the retry sends it again (once)", async () => {
      const { f } = service;
      const pipeline = await open({ anchorWaitMs: 20_000 });
      await manualMining();
      const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? "dropped" : "ok"));
      const error = await rejection(pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }));
      expect(error.message).to.match(/not anchored; its blobs are swept/);
      expect(await blobs()).to.equal(0);
      await automine();
      const retry = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
      expect(retry.records).to.be.greaterThan(0);
      expect(signer.sends).to.equal(2);
      expect(await recordBatchesOnChain(f)).to.equal(1);
    });

    it("wearable: a batch's answer lost while pending: waited for and indexed; the rest flush once", async () => {
      const { f } = service;
      const pipeline = await open({
        anchorWaitMs: 20_000,
        batchPolicy: { mode: "cadence", maxReadings: 64, maxAgeMs: 60 * 60_000 },
      });
      const received = await pipeline.ingestWearable(f.twinId, (await cohortSmall()).patients[1].wearable, {
        deviceSigner: f.wearable,
      });
      const total = received.pending;
      await manualMining(500);
      const signer = new FaultySigner(f.wearable, (n): SendFault => (n === 1 ? "unanswered" : "ok"));
      const error = await rejection(pipeline.flush(f.twinId, { deviceSigner: signer }));
      expect(error.message).to.match(/1 of 3 batches are anchored, 2 back to pending, 0 journaled/);
      expect(await readingBatchesOnChain(f)).to.equal(1);
      await pipeline.flush(f.twinId, { deviceSigner: signer });
      expect(signer.sends).to.equal(3);
      const { batches } = pipeline.anchors(f.twinId);
      expect(await readingBatchesOnChain(f)).to.equal(batches.length);
      expect(batches.reduce((sum, b) => sum + b.count, 0)).to.equal(total);
      expect(pipeline.pendingReadings(f.twinId)).to.equal(0);
    });
  });
});
