import { expect } from "chai";
import { join } from "node:path";
import { PipelineError, type PendingAnchor, type TwinPipeline } from "../../../src/pipeline";
import { LocalFolderBlobStore, StoreError } from "../../../src/store";
import { freshDatabase } from "../../postgres-server";
import { cohortSmall, countBlobs, removeFolders, withPatientChange } from "./harness";
import {
  countFiles,
  faultService,
  FaultySigner,
  FullDiskBlobStore,
  recordBatchesOnChain,
  vaultWith,
  type FaultService,
  type SendFault,
} from "./faults-doubles";

/** A crash of the service at a point (the hook throws it; nothing after it runs, nothing is swept). */
class Crash extends Error {}

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`pipeline/faults (index on ${backend}): nothing lost, nothing doubled`, function () {
    this.timeout(120_000);
    let service: FaultService;
    let emr: unknown;
    const opened: TwinPipeline[] = [];
    const open = async (extra: Parameters<FaultService["open"]>[0] = {}): Promise<TwinPipeline> => {
      const pipeline = await service.open(extra);
      opened.push(pipeline);
      return pipeline;
    };
    const stored = async () => ({
      blobs: await countBlobs(join(service.folders.root, "blobs")),
      keys: await countFiles(join(service.folders.root, "keys")),
    });

    beforeEach(async () => {
      service = await faultService(backend === "postgres" ? await freshDatabase("faults") : undefined);
      emr = (await cohortSmall()).patients[0].emr;
    });
    afterEach(async () => {
      for (const pipeline of opened.splice(0)) await pipeline.close();
      await removeFolders(service?.folders);
    });

    /** The ingest succeeds once, anchoring one record batch; the twin holds every record, at version 1. */
    async function expectIngestedOnce(pipeline: TwinPipeline, signer: FaultySigner | undefined): Promise<void> {
      const { f } = service;
      const retry = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer ?? f.emr });
      expect(await recordBatchesOnChain(f)).to.equal(1);
      expect(pipeline.version(f.twinId).version.version).to.equal(1);
      expect(pipeline.version(f.twinId).anchor?.version).to.equal(1);
      const records = await pipeline.records(f.twinId, 0xffffffff);
      expect(records.length).to.equal(retry.records + retry.unchanged);
      expect(new Set(records.map((r) => r.anchor.cid)).size).to.equal(records.length);
      // every blob on disk is a record the twin holds: no orphan
      expect((await stored()).blobs).to.equal(records.length);
      const restarted = await open();
      expect(restarted.version(f.twinId).version.stateRoot).to.equal(pipeline.version(f.twinId).version.stateRoot);
    }

    for (const fault of ["down", "timeout"] as const) {
      it(`RPC ${fault} at the anchor: typed error, nothing stays, the retry anchors exactly once`, async () => {
        const { f } = service;
        const pipeline = await open();
        const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? fault : "ok"));
        const error = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(PipelineError);
        expect((error as PipelineError).code).to.equal("ANCHOR_FAILED");
        expect(await recordBatchesOnChain(f)).to.equal(0);
        expect(await stored()).to.deep.equal({ blobs: 0, keys: 0 });
        expect(pipeline.holding(f.twinId)).to.equal("unknown");
        await expectIngestedOnce(pipeline, signer);
      });
    }

    it("a twin already held: a failed re-ingest leaves its version and blobs as they were; the retry anchors once", async () => {
      const { f } = service;
      const pipeline = await open();
      await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
      const before = { version: pipeline.version(f.twinId), blobs: (await stored()).blobs };
      const changed = withPatientChange(emr, 1);
      const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? "down" : "ok"));
      await pipeline.ingestEmr(f.twinId, changed, { sourceSigner: signer }).then(
        () => expect.fail("the send was down"),
        (e: unknown) => expect((e as PipelineError).code).to.equal("ANCHOR_FAILED"),
      );
      expect(pipeline.version(f.twinId)).to.deep.equal(before.version);
      expect((await stored()).blobs).to.equal(before.blobs);
      expect((await open()).version(f.twinId).version.stateRoot).to.equal(before.version.version.stateRoot);
      const retry = await pipeline.ingestEmr(f.twinId, changed, { sourceSigner: signer });
      expect(retry.records).to.be.greaterThan(0);
      expect(retry.version.version).to.equal(2);
      expect(await recordBatchesOnChain(f)).to.equal(2);
      expect((await stored()).blobs).to.equal(before.blobs + retry.records);
    });

    it("the chain down before the journal is written: nothing stays, the retry anchors once", async () => {
      const { f } = service;
      const pipeline = await open();
      const provider = f.updateLog.runner?.provider as unknown as { getBlockNumber: () => Promise<number> };
      const getBlockNumber = provider.getBlockNumber;
      let calls = 0;
      // the preflight reads pass; the journal's block number read is the first one to fail
      provider.getBlockNumber = function (this: unknown) {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error("connect ECONNREFUSED")) : getBlockNumber.call(this);
      };
      try {
        const error = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((error as PipelineError).code).to.equal("ANCHOR_FAILED");
        expect((error as PipelineError).message).to.match(/did not answer before anchoring/);
      } finally {
        provider.getBlockNumber = getBlockNumber;
      }
      expect(await stored()).to.deep.equal({ blobs: 0, keys: 0 });
      expect(await recordBatchesOnChain(f)).to.equal(0);
      await expectIngestedOnce(pipeline, undefined);
    });

    it("the anchor mined but its answer lost: the batch is found on chain and indexed, the retry sends nothing", async () => {
      const { f } = service;
      const pipeline = await open();
      const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? "lost" : "ok"));
      const error = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }).then(
        () => null,
        (e: unknown) => e,
      );
      expect((error as PipelineError).code).to.equal("ANCHOR_FAILED");
      expect(await recordBatchesOnChain(f)).to.equal(1);
      const retry = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
      expect(retry.records).to.equal(0);
      expect(signer.sends).to.equal(1); // nothing sent by the retry
      await expectIngestedOnce(pipeline, signer);
    });

    it("the anchor mined and the chain unreachable afterwards: the journal resolves it at the next write", async () => {
      const { f } = service;
      const pipeline = await open();
      const log = f.updateLog;
      const queryFilter = log.queryFilter.bind(log);
      let chainDown = true;
      // the read of the chain after the failed send fails too (the node is gone for a while)
      (log as unknown as { queryFilter: unknown }).queryFilter = (...args: Parameters<typeof queryFilter>) =>
        chainDown ? Promise.reject(new Error("connect ECONNREFUSED")) : queryFilter(...args);
      try {
        const signer = new FaultySigner(f.emr, (n): SendFault => (n === 1 ? "lost" : "ok"));
        const error = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((error as PipelineError).code).to.equal("ANCHOR_FAILED");
        expect((error as PipelineError).message).to.match(/journaled/);
        chainDown = false;
        const retry = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: signer });
        expect(retry.records).to.equal(0);
        expect(signer.sends).to.equal(1);
        await expectIngestedOnce(pipeline, signer);
      } finally {
        (log as unknown as { queryFilter: unknown }).queryFilter = queryFilter;
      }
    });

    it("killed between store and anchor, nothing sent: the restart sweeps the blobs and keys, the retry anchors once", async () => {
      const { f } = service;
      const crashing = await open({
        beforeAnchor: () => {
          throw new Crash("killed");
        },
      });
      await crashing.ingestEmr(f.twinId, emr, { sourceSigner: f.emr }).then(
        () => expect.fail("the crash hook did not run"),
        (e: unknown) => expect(e).to.be.instanceOf(Crash),
      );
      expect((await stored()).blobs).to.be.greaterThan(0); // left behind by the "killed" process
      const restarted = await open();
      expect(await stored()).to.deep.equal({ blobs: 0, keys: 0 });
      expect(restarted.holding(f.twinId)).to.equal("unknown");
      expect(restarted.twins()).to.deep.equal([]);
      await expectIngestedOnce(restarted, undefined);
    });

    it("killed after the anchor was sent, before it was indexed: the restart finishes it, the retry sends nothing", async () => {
      const { f } = service;
      const crashing = await open({
        beforeAnchor: async (pending: PendingAnchor) => {
          // the transaction leaves the process, then the process dies before the receipt is read
          await (
            await f.updateLog.connect(f.emr).anchorRecords(f.twinId, pending.recordsRoot, pending.categories)
          ).wait();
          throw new Crash("killed");
        },
      });
      await crashing.ingestEmr(f.twinId, emr, { sourceSigner: f.emr }).catch((e: unknown) => {
        expect(e).to.be.instanceOf(Crash);
      });
      expect(await recordBatchesOnChain(f)).to.equal(1);
      const restarted = await open();
      expect(restarted.holding(f.twinId)).to.equal("active");
      expect(restarted.version(f.twinId).version.version).to.equal(1);
      const records = await restarted.records(f.twinId, 0xffffffff);
      expect(records.length).to.be.greaterThan(0);
      const retry = await restarted.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
      expect(retry.records).to.equal(0);
      expect(retry.unchanged).to.equal(records.length);
      await expectIngestedOnce(restarted, undefined);
    });

    it("disk full mid-batch: STORE_IO with ENOSPC as cause, nothing half-written, no index change, no anchor", async () => {
      const { f, folders } = service;
      const inner = new LocalFolderBlobStore(join(folders.root, "blobs"), { fsync: false });
      const full = new FullDiskBlobStore(inner, 3);
      const pipeline = await open({ vault: vaultWith(folders, full) });
      const error = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(StoreError);
      expect((error as StoreError).code).to.equal("STORE_IO");
      expect(((error as StoreError).cause as { code?: string }).code).to.equal("ENOSPC");
      expect(full.written).to.equal(3); // a batch half written, then undone
      expect(await stored()).to.deep.equal({ blobs: 0, keys: 0 });
      expect(await recordBatchesOnChain(f)).to.equal(0);
      expect(pipeline.holding(f.twinId)).to.equal("unknown");
      expect((await open()).twins()).to.deep.equal([]);
      // space freed: the same ingest goes through once
      full.room = Number.POSITIVE_INFINITY;
      await expectIngestedOnce(pipeline, undefined);
    });
  });
}
