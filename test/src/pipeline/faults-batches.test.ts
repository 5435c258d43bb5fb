import { expect } from "chai";
import { join } from "node:path";
import { PipelineError, type PendingBatches, type TwinPipeline } from "../../../src/pipeline";
import { freshDatabase } from "../../postgres-server";
import { cohortSmall, countBlobs, removeFolders } from "./harness";
import { faultService, FaultySigner, readingBatchesOnChain, type FaultService, type SendFault } from "./faults-doubles";

/** A crash of the service at a point (the hook throws it; nothing after it runs, nothing is swept). */
class Crash extends Error {}

/** A flush of the stream makes three batches (64, 64, 23) in "cadence" mode with a still clock: only `flush` sends. */
const POLICY = { batchPolicy: { mode: "cadence", maxReadings: 64, maxAgeMs: 60 * 60_000 } } as const;

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`pipeline/faults (index on ${backend}): reading batches, nothing lost, nothing doubled`, function () {
    this.timeout(120_000);
    let service: FaultService;
    let wearable: unknown;
    let total: number;
    const opened: TwinPipeline[] = [];
    const open = async (extra: Parameters<FaultService["open"]>[0] = {}): Promise<TwinPipeline> => {
      const pipeline = await service.open({ ...POLICY, ...extra });
      opened.push(pipeline);
      return pipeline;
    };
    const blobs = () => countBlobs(join(service.folders.root, "blobs"));

    before(async () => {
      wearable = (await cohortSmall()).patients[1].wearable;
    });
    beforeEach(async () => {
      service = await faultService(backend === "postgres" ? await freshDatabase("faults-batches") : undefined);
    });
    afterEach(async () => {
      for (const pipeline of opened.splice(0)) await pipeline.close();
      await removeFolders(service?.folders);
    });

    /** Receive the stream (kept pending, nothing sent): `total` readings. */
    async function receive(pipeline: TwinPipeline): Promise<void> {
      const { f } = service;
      const received = await pipeline.ingestWearable(f.twinId, wearable, { deviceSigner: f.wearable });
      expect(received.flushed).to.equal(null);
      total = received.pending;
      expect(total).to.equal(151);
    }

    async function flushFails(pipeline: TwinPipeline, signer: FaultySigner): Promise<PipelineError> {
      const error = await pipeline.flush(service.f.twinId, { deviceSigner: signer }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(PipelineError);
      expect((error as PipelineError).code).to.equal("ANCHOR_FAILED");
      return error as PipelineError;
    }

    /**
     * Every reading anchored exactly once: the chain's batches are the twin's, their counts add up to the stream, no
     * reading is pending or answered twice, every blob on disk is a batch the twin holds, and a restart answers the same.
     */
    async function expectAnchoredOnce(pipeline: TwinPipeline): Promise<void> {
      const { f } = service;
      const { batches } = pipeline.anchors(f.twinId);
      expect(await readingBatchesOnChain(f)).to.equal(batches.length);
      expect(batches.reduce((sum, b) => sum + b.count, 0)).to.equal(total);
      expect(new Set(batches.map((b) => b.merkleRoot)).size).to.equal(batches.length);
      expect(pipeline.pendingReadings(f.twinId)).to.equal(0);
      const readings = await pipeline.readings(f.twinId, {});
      expect(readings.length).to.equal(total);
      expect(readings.every((r) => r.anchor !== null)).to.equal(true);
      expect(await blobs()).to.equal(batches.length);
      const restarted = await open();
      expect(restarted.version(f.twinId).version.stateRoot).to.equal(pipeline.version(f.twinId).version.stateRoot);
      expect(restarted.anchors(f.twinId).batches).to.deep.equal(batches);
      expect(restarted.pendingReadings(f.twinId)).to.equal(0);
    }

    it("the first anchorBatch mined but its answer lost: found on chain, not sent again; the rest flush once", async () => {
      const { f } = service;
      const pipeline = await open();
      await receive(pipeline);
      const signer = new FaultySigner(f.wearable, (n): SendFault => (n === 1 ? "lost" : "ok"));
      const error = await flushFails(pipeline, signer);
      expect(error.message).to.match(/1 of 3 batches are anchored, 2 back to pending/);
      expect(await readingBatchesOnChain(f)).to.equal(1);
      expect(pipeline.anchors(f.twinId).batches).to.have.length(1);
      expect(pipeline.pendingReadings(f.twinId)).to.equal(total - 64);
      const retry = await pipeline.flush(f.twinId, { deviceSigner: signer });
      expect(retry?.readings).to.equal(total - 64);
      expect(signer.sends).to.equal(3); // the lost one, then the two batches left: nothing sent twice
      await expectAnchoredOnce(pipeline);
    });

    for (const fault of ["down", "timeout", "lost"] as const) {
      it(`RPC ${fault} at the second of three anchors: the flush resumes without a duplicate anchor`, async () => {
        const { f } = service;
        const pipeline = await open();
        await receive(pipeline);
        const signer = new FaultySigner(f.wearable, (n): SendFault => (n === 2 ? fault : "ok"));
        await flushFails(pipeline, signer);
        const anchored = fault === "lost" ? 2 : 1;
        expect(await readingBatchesOnChain(f)).to.equal(anchored);
        expect(pipeline.anchors(f.twinId).batches).to.have.length(anchored);
        const retry = await pipeline.flush(f.twinId, { deviceSigner: signer });
        expect(retry?.readings).to.equal(total - 64 * anchored);
        await expectAnchoredOnce(pipeline);
      });
    }

    it("the anchor's answer lost and the chain unreachable afterwards: journaled, resolved at the next write", async () => {
      const { f } = service;
      const pipeline = await open();
      await receive(pipeline);
      const log = f.updateLog;
      const queryFilter = log.queryFilter.bind(log);
      let chainDown = true;
      (log as unknown as { queryFilter: unknown }).queryFilter = (...args: Parameters<typeof queryFilter>) =>
        chainDown ? Promise.reject(new Error("connect ECONNREFUSED")) : queryFilter(...args);
      try {
        const signer = new FaultySigner(f.wearable, (n): SendFault => (n === 1 ? "lost" : "ok"));
        const error = await flushFails(pipeline, signer);
        expect(error.message).to.match(/0 of 3 batches are anchored, 2 back to pending, 1 journaled/);
        expect(pipeline.pendingReadings(f.twinId)).to.equal(total - 64); // the journaled batch's are not pending
        // a restart while the chain is still down keeps the journal, and re-reads it once the chain answers
        const restarted = await open();
        expect(restarted.anchors(f.twinId).batches).to.have.length(0);
        chainDown = false;
        const retry = await restarted.flush(f.twinId, { deviceSigner: signer });
        expect(signer.sends).to.equal(3);
        expect(retry?.readings).to.equal(total - 64);
        await expectAnchoredOnce(restarted);
      } finally {
        (log as unknown as { queryFilter: unknown }).queryFilter = queryFilter;
      }
    });

    it("a twin whose one batch is journaled, restarted while the chain is down: held again once resolved", async () => {
      const { f } = service;
      const policy = { batchPolicy: { mode: "cadence", maxReadings: 256, maxAgeMs: 60 * 60_000 } } as const;
      const pipeline = await open(policy);
      await receive(pipeline);
      const log = f.updateLog;
      const queryFilter = log.queryFilter.bind(log);
      let chainDown = true;
      (log as unknown as { queryFilter: unknown }).queryFilter = (...args: Parameters<typeof queryFilter>) =>
        chainDown ? Promise.reject(new Error("connect ECONNREFUSED")) : queryFilter(...args);
      try {
        const signer = new FaultySigner(f.wearable, (n): SendFault => (n === 1 ? "lost" : "ok"));
        const error = await flushFails(pipeline, signer);
        expect(error.message).to.match(/0 of 1 batches are anchored, 0 back to pending, 1 journaled/);
        const restarted = await open(policy);
        expect(restarted.twins()).to.deep.equal([]); // nothing but the journal: not held until it is resolved
        chainDown = false;
        expect(await restarted.flush(f.twinId, { deviceSigner: signer })).to.equal(null); // resolved, nothing left
        expect(restarted.holding(f.twinId)).to.equal("active");
        expect(signer.sends).to.equal(1);
        await expectAnchoredOnce(restarted);
      } finally {
        (log as unknown as { queryFilter: unknown }).queryFilter = queryFilter;
      }
    });

    it("killed between storing the batches and anchoring them: the restart sweeps them, the readings stay pending", async () => {
      const { f } = service;
      const crashing = await open({
        beforeBatchAnchor: () => {
          throw new Crash("killed");
        },
      });
      await receive(crashing);
      await crashing.flush(f.twinId, { deviceSigner: f.wearable }).then(
        () => expect.fail("the crash hook did not run"),
        (e: unknown) => expect(e).to.be.instanceOf(Crash),
      );
      expect(await blobs()).to.equal(1 + 3); // the intake, and the three batches stored, none anchored
      const restarted = await open();
      expect(restarted.pendingReadings(f.twinId)).to.equal(total);
      expect(await blobs()).to.equal(1); // the batches swept; their readings in one fresh intake
      expect(await readingBatchesOnChain(f)).to.equal(0);
      const done = await restarted.flush(f.twinId, { deviceSigner: f.wearable });
      expect(done?.batches).to.have.length(3);
      await expectAnchoredOnce(restarted);
    });

    it("killed after an anchorBatch was mined, before its receipt was read: the restart finishes it", async () => {
      const { f } = service;
      const crashing = await open({
        beforeBatchAnchor: async (pending: PendingBatches) => {
          // the first batch's transaction leaves the process, then the process dies
          await (await f.updateLog.connect(f.wearable).anchorBatch(f.twinId, pending.batches[0].merkleRoot)).wait();
          throw new Crash("killed");
        },
      });
      await receive(crashing);
      await crashing.flush(f.twinId, { deviceSigner: f.wearable }).catch((e: unknown) => {
        expect(e).to.be.instanceOf(Crash);
      });
      const restarted = await open();
      const { batches } = restarted.anchors(f.twinId);
      expect(batches.map((b) => b.count)).to.deep.equal([64]);
      expect(restarted.version(f.twinId).anchor?.version).to.equal(1);
      expect(restarted.pendingReadings(f.twinId)).to.equal(total - 64);
      await restarted.flush(f.twinId, { deviceSigner: f.wearable });
      await expectAnchoredOnce(restarted);
    });
  });
}
