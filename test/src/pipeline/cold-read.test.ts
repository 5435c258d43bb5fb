import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import { TwinPipeline } from "../../../src/pipeline";
import { RecordVault } from "../../../src/store";
import { VitalSign, type VitalSignName } from "../../../src/fhir";
import { expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, removeFolders, reopenFolders, startService, type Service } from "./harness";

/**
 * The first read of a twin by a freshly opened pipeline (issue 12, the cold query): the blobs it needs are opened once
 * however many reads ask at once, and checked (against their CIDs and the anchored batch roots) before anything is
 * answered.
 */
describe("pipeline/cold read: a twin's first read after the pipeline opens", function () {
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

  /** A restarted pipeline over the service's folders whose vault counts the blobs it reads. */
  async function reopened(): Promise<{ pipeline: TwinPipeline; reads: string[] }> {
    const folders = reopenFolders(service.folders.root);
    const reads: string[] = [];
    const vault = new RecordVault(folders.blobs, folders.keys);
    const read = vault.read.bind(vault);
    vault.read = (cid, context, key) => {
      reads.push(cid);
      return read(cid, context, key);
    };
    const pipeline = await TwinPipeline.open({
      updateLog: service.f.updateLog,
      vault,
      custodianKey: service.custodianKey,
      custodianSigner: service.f.hospital,
      patientPublicKey: () => service.patientKey.signingKey.publicKey,
      indexFolder: folders.indexFolder,
      batchPolicy: { mode: "size", maxReadings: 100, maxAgeMs: 60 * 60_000 },
      clock: () => service.clock.now,
      fsync: false,
    });
    return { pipeline, reads };
  }

  const signs = Object.keys(VitalSign) as VitalSignName[];

  it("opens each batch once for reads that come together, and answers what the warm pipeline answers", async () => {
    const { pipeline: warm, f } = service;
    const expected = await Promise.all(signs.map((sign) => warm.readings(f.twinId, { signs: [sign] })));
    const { pipeline, reads } = await reopened();
    try {
      const batches = pipeline.anchors(f.twinId).batches.map((batch) => batch.cid);
      expect(batches.length).to.be.greaterThan(1);
      reads.length = 0; // what the restore read
      const answers = await Promise.all(signs.map((sign) => pipeline.readings(f.twinId, { signs: [sign] })));
      expect(answers).to.deep.equal(expected);
      expect(reads.filter((cid) => batches.includes(cid)).sort()).to.deep.equal([...batches].sort());
      // and a second round reads nothing
      reads.length = 0;
      expect(await Promise.all(signs.map((sign) => pipeline.readings(f.twinId, { signs: [sign] })))).to.deep.equal(
        expected,
      );
      expect(reads).to.deep.equal([]);
    } finally {
      await pipeline.close();
    }
  });

  it("refuses a batch blob tampered with after the pipeline opened, to every read of its first round, then again", async () => {
    const { f, folders } = service;
    const { pipeline } = await reopened();
    try {
      const batch = pipeline.anchors(f.twinId).batches[0];
      const path = folders.blobs.pathOf(batch.cid);
      const bytes = await readFile(path);
      bytes[40] ^= 1;
      await writeFile(path, bytes);
      const reads = signs.map((sign) => pipeline.readings(f.twinId, { signs: [sign] }));
      for (const read of reads) await expectRejectCode(read, "BLOB_TAMPERED");
      await expectRejectCode(pipeline.readings(f.twinId, {}), "BLOB_TAMPERED"); // a failed open is not kept
      bytes[40] ^= 1;
      await writeFile(path, bytes);
      expect((await pipeline.readings(f.twinId, {})).length).to.be.greaterThan(0);
    } finally {
      await pipeline.close();
    }
  });
});
