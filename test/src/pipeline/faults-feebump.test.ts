import { expect } from "chai";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import type { Provider, Signer, TransactionRequest, TransactionResponse } from "ethers";
import { PipelineError, type TwinPipeline } from "../../../src/pipeline";
import { NonceManager } from "../../../src/pipeline/nonce-manager";
import { freshDatabase } from "../../postgres-server";
import { DelegatingSigner } from "./delegating-signer";
import { cohortSmall, countBlobs, removeFolders } from "./harness";
import { faultService, readingBatchesOnChain, recordBatchesOnChain, type FaultService } from "./faults-doubles";

/**
 * An anchor stuck in the mempool because its fee is below the chain's base fee is replaced at its nonce with higher
 * fees (fee-bump.ts): one anchor on chain whichever send is mined, the index pointing at the mined one; the fee cap
 * ends the replacing with a typed "still pending" and nothing doubled.
 */

const send = (method: string, params: unknown[] = []) => network.provider.send(method, params);
const hex = (value: bigint) => `0x${value.toString(16)}`;

/** A fee far below the base fee of {@link stuckChain}: such a send waits in the mempool. */
const LOW = 1_000n;
const GWEI = 10n ** 9n;

/** Blocks every `intervalMs`, the next at a 10 gwei base fee (a send at {@link LOW} is not mined). */
async function stuckChain(intervalMs = 200): Promise<void> {
  await send("evm_setAutomine", [false]);
  await send("hardhat_setNextBlockBaseFeePerGas", [hex(10n * GWEI)]);
  await send("evm_mine");
  await send("evm_setIntervalMining", [intervalMs]);
}

async function automine(): Promise<void> {
  await send("evm_setIntervalMining", [0]);
  await send("evm_setAutomine", [true]);
}

/** One send that reached the node. */
interface Sent {
  readonly hash: string;
  readonly nonce: number;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  readonly request: TransactionRequest;
  readonly gasLimit: bigint;
}

/**
 * A signer whose `n`-th send (1-based) goes out with the fees `low(n)` says ({@link LOW} for a stuck one), else as
 * asked; `after(n, response)` runs once the node took it (a test drops, re-sends or hangs there).
 */
class FeeSigner extends DelegatingSigner {
  readonly sent: Sent[] = [];
  constructor(
    inner: Signer,
    readonly low: (n: number) => boolean,
    readonly after: (n: number, response: TransactionResponse, signer: FeeSigner) => Promise<void> = async () => {},
  ) {
    super(inner);
  }
  connect(_: Provider | null): FeeSigner {
    return this;
  }
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const n = this.sent.length + 1;
    const request = this.low(n) ? { ...tx, maxFeePerGas: LOW, maxPriorityFeePerGas: LOW } : tx;
    const response = await this.inner.sendTransaction(request);
    this.sent.push({
      hash: response.hash,
      nonce: response.nonce,
      maxFeePerGas: response.maxFeePerGas ?? 0n,
      maxPriorityFeePerGas: response.maxPriorityFeePerGas ?? 0n,
      request,
      gasLimit: response.gasLimit,
    });
    await this.after(n, response, this);
    return response;
  }
}

/** Replacements raise both fees by at least 12.5% over the send they replace, at the same nonce. */
function expectBumped(sent: readonly Sent[]): void {
  for (let i = 1; i < sent.length; i += 1) {
    expect(sent[i].nonce).to.equal(sent[0].nonce);
    expect(sent[i].maxFeePerGas * 1000n).to.be.at.least(sent[i - 1].maxFeePerGas * 1125n);
    expect(sent[i].maxPriorityFeePerGas * 1000n).to.be.at.least(sent[i - 1].maxPriorityFeePerGas * 1125n);
  }
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

describe("pipeline/faults: a stuck anchor is replaced at its nonce with a higher fee", function () {
  this.timeout(120_000);
  let service: FaultService;
  const opened: TwinPipeline[] = [];
  const open = async (extra: Parameters<FaultService["open"]>[0] = {}): Promise<TwinPipeline> => {
    const pipeline = await service.open({ anchorWaitMs: 600, ...extra });
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

  it("EMR: a fee below the base fee stays pending, is replaced, mined once; the index points at the replacement", async () => {
    const { f } = service;
    const pipeline = await open();
    await stuckChain();
    const signer = new FeeSigner(f.emr, (n) => n === 1);
    const summary = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
    expect(summary.records).to.be.greaterThan(0);
    expect(signer.sent.length).to.equal(2);
    expectBumped(signer.sent);
    expect(await recordBatchesOnChain(f)).to.equal(1);
    const mined = signer.sent[1].hash;
    expect(pipeline.anchors(f.twinId).records.every((a) => a.transactionHash === mined)).to.equal(true);
    expect(await ethers.provider.getTransaction(signer.sent[0].hash)).to.equal(null); // the node dropped it
  });

  it("EMR, index on PostgreSQL: replaced and mined once; a restart reads the replacement's hash", async () => {
    await removeFolders(service.folders);
    service = await faultService(await freshDatabase("feebump"));
    const { f } = service;
    const pipeline = await open();
    await stuckChain();
    const signer = new FeeSigner(f.emr, (n) => n === 1);
    await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
    expect(signer.sent.length).to.equal(2);
    expect(await recordBatchesOnChain(f)).to.equal(1);
    await automine();
    const restarted = await open();
    const mined = signer.sent[1].hash;
    expect(restarted.anchors(f.twinId).records.every((a) => a.transactionHash === mined)).to.equal(true);
  });

  it("wearable: the first of three batches stuck: only it is replaced, each batch anchored once", async () => {
    const { f } = service;
    const pipeline = await open({ batchPolicy: { mode: "cadence", maxReadings: 64, maxAgeMs: 60 * 60_000 } });
    const received = await pipeline.ingestWearable(f.twinId, (await cohortSmall()).patients[1].wearable, {
      deviceSigner: f.wearable,
    });
    await stuckChain();
    const signer = new FeeSigner(f.wearable, (n) => n === 1);
    const flushed = await pipeline.flush(f.twinId, { deviceSigner: signer });
    expect(flushed?.batches.length).to.equal(3);
    expect(flushed?.readings).to.equal(received.pending);
    // three sends at three nonces, one replacement (of the first): the later two waited behind it
    expect(signer.sent.length).to.equal(4);
    expect(new Set(signer.sent.map((s) => s.nonce)).size).to.equal(3);
    expectBumped([signer.sent[0], signer.sent[3]]);
    expect(await readingBatchesOnChain(f)).to.equal(3);
    const { batches } = pipeline.anchors(f.twinId);
    expect(batches[0].transactionHash).to.equal(signer.sent[3].hash);
    expect(pipeline.pendingReadings(f.twinId)).to.equal(0);
  });

  it("EMR: the ORIGINAL is mined after the replacement was sent: one anchor, indexed at the original's hash", async () => {
    const { f } = service;
    const pipeline = await open();
    await stuckChain();
    let resent = "";
    const signer = new FeeSigner(
      f.emr,
      (n) => n === 1,
      async (n, response, self) => {
        if (n !== 2) return;
        // a miner that saw the original mines it: the replacement gone, the original back, its fee now enough
        await send("hardhat_dropTransaction", [response.hash]);
        const first = self.sent[0];
        const again = await f.emr.sendTransaction({ ...first.request, nonce: first.nonce, gasLimit: first.gasLimit });
        resent = again.hash;
        await send("hardhat_setNextBlockBaseFeePerGas", [hex(1n)]);
      },
    );
    await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
    expect(resent).to.equal(signer.sent[0].hash); // the very same transaction
    expect(signer.sent.length).to.equal(2);
    expect(await recordBatchesOnChain(f)).to.equal(1);
    const original = signer.sent[0].hash;
    expect((await ethers.provider.getTransaction(original))?.blockNumber).to.not.equal(null);
    expect(pipeline.anchors(f.twinId).records.every((a) => a.transactionHash === original)).to.equal(true);
  });

  it("EMR: the service dies between sending the replacement and its receipt: the restart finds it, nothing doubled", async () => {
    const { f } = service;
    const crashed = await service.open({ anchorWaitMs: 600 }); // never closed: it hangs for good below
    await stuckChain();
    let left: () => void = () => {};
    const replaced = new Promise<void>((resolve) => (left = resolve));
    const signer = new FeeSigner(
      f.emr,
      (n) => n === 1,
      async (n) => {
        if (n !== 2) return;
        left();
        await new Promise(() => undefined); // the process is gone once the replacement left
      },
    );
    void crashed.ingestEmr(f.twinId, emr, { sourceSigner: signer });
    await replaced;
    const stored = await blobs();
    const restarted = await open(); // resolves the journal on open: the replacement's block comes meanwhile
    expect(restarted.holding(f.twinId)).to.not.equal("unknown");
    expect(await recordBatchesOnChain(f)).to.equal(1);
    const mined = signer.sent[1].hash;
    expect(restarted.anchors(f.twinId).records.every((a) => a.transactionHash === mined)).to.equal(true);
    await automine();
    const retry = await restarted.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(retry.records).to.equal(0);
    expect(await recordBatchesOnChain(f)).to.equal(1);
    expect(await blobs()).to.equal(stored);
  });

  it("EMR: the fee cap reached: a typed 'still pending', no replacement, nothing swept; mined later, indexed once", async () => {
    const { f } = service;
    const feeBump = { maxFeePerGas: LOW + LOW / 20n }; // below the least bump (+12.5%)
    const pipeline = await open({ anchorWaitMs: 300, feeBump });
    await stuckChain();
    const signer = new FeeSigner(f.emr, (n) => n === 1);
    const error = await rejection(pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }));
    expect(error.message).to.match(/still pending.*fee cap.*journaled/);
    expect(signer.sent.length).to.equal(1);
    const stored = await blobs();
    expect(stored).to.be.greaterThan(0);
    const again = await rejection(pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }));
    expect(again.message).to.match(/still pending/);
    expect(signer.sent.length).to.equal(1);
    // the base fee falls under the stuck fee: the original is mined, the next write indexes it
    await send("hardhat_setNextBlockBaseFeePerGas", [hex(1n)]);
    await send("evm_mine");
    await automine();
    const retry = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
    expect(retry.records).to.equal(0);
    expect(signer.sent.length).to.equal(1);
    expect(await recordBatchesOnChain(f)).to.equal(1);
    expect(pipeline.anchors(f.twinId).records[0].transactionHash).to.equal(signer.sent[0].hash);
    expect(await blobs()).to.equal(stored);
  });

  it("options: a bump under 10%, a negative count or a zero cap is refused with INVALID_OPTIONS at open", async () => {
    for (const feeBump of [{ bumpPercent: 5 }, { maxReplacements: -1 }, { maxFeePerGas: 0n }]) {
      const error = await service.open({ feeBump }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(PipelineError);
      expect((error as PipelineError).code).to.equal("INVALID_OPTIONS");
    }
  });
});

describe("pipeline/nonce-manager: a dropped transaction's nonce is handed out again, not passed", () => {
  afterEach(automine);

  it("forget: the next submission takes the freed nonce", async () => {
    const [, , , , , , , , , , account] = await ethers.getSigners();
    await send("evm_setAutomine", [false]);
    const nonces = new NonceManager();
    const first = await nonces.submit(account, (nonce) => account.sendTransaction({ to: account.address, nonce }));
    await send("hardhat_dropTransaction", [first.hash]);
    // without forget, the manager's own count would go past the dropped nonce (a gap the chain never fills)
    nonces.forget(account.address);
    const second = await nonces.submit(account, (nonce) => account.sendTransaction({ to: account.address, nonce }));
    expect(second.nonce).to.equal(first.nonce);
    expect(nonces.signerOf(account.address)).to.equal(account);
  });
});
