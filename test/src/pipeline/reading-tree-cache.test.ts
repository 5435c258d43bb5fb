import { expect } from "chai";
import { buildReadingTree, type ReadingTree } from "../../../src/chain/anchors";
import { TwinPipeline } from "../../../src/pipeline";
import { ReadingTreeCache, READING_TREE_CACHE_LEAVES } from "../../../src/pipeline/reading-tree-cache";
import { RecordVault } from "../../../src/store";
import { VitalSign, type VitalSignName } from "../../../src/fhir";
import { id } from "ethers";
import { cohortSmall, removeFolders, reopenFolders, startService, type Service } from "./harness";

/** A reading tree of `n` leaves. */
function treeOf(n: number): ReadingTree {
  return buildReadingTree(Array.from({ length: n }, (_, i) => ({ readingHash: id(`reading ${i}`), timestamp: i + 1 })));
}

describe("pipeline/reading-tree-cache: the reading trees kept for proofs, bounded for all twins together", () => {
  it("keeps at most its bound in leaves, dropping the least recently used tree of any twin", () => {
    const cache = new ReadingTreeCache(10);
    const [a, b] = [cache.forTwin("0xa"), cache.forTwin("0xb")];
    const [t4, t5, t3] = [treeOf(4), treeOf(5), treeOf(3)];
    a.set("batch/0", t4);
    b.set("batch/0", t5);
    expect(cache.leaves).to.equal(9);
    expect(a.get("batch/0")).to.equal(t4); // now the most recent
    b.set("batch/1", t3); // 12 > 10: twin b's batch/0 (least recently used) goes
    expect(b.get("batch/0")).to.equal(undefined);
    expect(a.get("batch/0")).to.equal(t4);
    expect(b.get("batch/1")).to.equal(t3);
    expect(cache.leaves).to.equal(7);
    // a tree larger than the whole bound is not kept
    a.set("batch/1", treeOf(11));
    expect(a.get("batch/1")).to.equal(undefined);
    expect(READING_TREE_CACHE_LEAVES).to.be.at.least(10_000);
  });

  it("drops one twin's trees on clear (erasure), and only that twin's", () => {
    const cache = new ReadingTreeCache(100);
    const [a, b] = [cache.forTwin("0xa"), cache.forTwin("0xb")];
    a.set("batch/0", treeOf(2));
    a.set("batch/1", treeOf(2));
    b.set("batch/0", treeOf(2));
    a.set("batch/1", treeOf(3)); // replaced, still one entry
    a.clear();
    expect([a.get("batch/0"), a.get("batch/1")]).to.deep.equal([undefined, undefined]);
    expect(b.get("batch/0")?.length).to.equal(2);
    expect(cache.leaves).to.equal(2);
    a.set("batch/0", treeOf(4)); // held again after a clear
    expect(cache.leaves).to.equal(6);
  });

  describe("in the pipeline", function () {
    let service: Service;
    beforeEach(async () => {
      service = await startService({ batchPolicy: { maxReadings: 100, maxAgeMs: 60 * 60_000 } });
      const cohort = await cohortSmall();
      const { pipeline, f } = service;
      await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
      await pipeline.ingestWearable(f.twinId, cohort.patients[1].wearable, { deviceSigner: f.wearable });
      await pipeline.flush(f.twinId, { deviceSigner: f.wearable });
    });
    afterEach(() => removeFolders(service?.folders));

    it("answers with the same proofs when no tree is kept (each rebuilt from its batch and checked)", async () => {
      const { pipeline: warm, f } = service;
      const signs = Object.keys(VitalSign) as VitalSignName[];
      const expected = await Promise.all(signs.map((sign) => warm.readings(f.twinId, { signs: [sign] })));
      expect(expected.flat().length).to.be.greaterThan(100);
      const folders = reopenFolders(service.folders.root);
      const pipeline = await TwinPipeline.open({
        updateLog: f.updateLog,
        vault: new RecordVault(folders.blobs, folders.keys),
        custodianKey: service.custodianKey,
        custodianSigner: f.hospital,
        patientPublicKey: () => service.patientKey.signingKey.publicKey,
        indexFolder: folders.indexFolder,
        batchPolicy: { mode: "size", maxReadings: 100, maxAgeMs: 60 * 60_000 },
        clock: () => service.clock.now,
        fsync: false,
        readingTreeCacheLeaves: 1, // every batch has more leaves: none is kept
      });
      try {
        for (let round = 0; round < 2; round++) {
          const answers = await Promise.all(signs.map((sign) => pipeline.readings(f.twinId, { signs: [sign] })));
          expect(answers).to.deep.equal(expected);
        }
      } finally {
        await pipeline.close();
      }
    });
  });
});
