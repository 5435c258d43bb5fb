import { expect } from "chai";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { openRecord, unpad } from "../../../src/crypto";
import { verifyReadingAnchor, verifyRecordAnchor, verifyStateAnchor } from "../../../src/pipeline";
import { type LocalFolderBlobStore } from "../../../src/store";
import { DataCategory } from "../../../src/vocabulary";
import { expectCode, expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, newWallet, removeFolders, startService, withConditionNotes, type Service } from "./harness";

describe("pipeline/access: grants, tampering and erasure", function () {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ batchPolicy: { maxReadings: 100, maxAgeMs: 60 * 60_000 } });
    const cohort = await cohortSmall();
    const { pipeline, f } = service;
    await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, cohort.patients[1].wearable, { deviceSigner: f.wearable });
  });
  afterEach(() => removeFolders(service?.folders));

  it("grantReader lets the grantee's key open the covered records and no others", async () => {
    const { pipeline, f, folders } = service;
    const doctor = newWallet();
    const granted = await pipeline.grantReader(
      f.twinId,
      doctor.signingKey.publicKey,
      DataCategory.CONDITIONS | DataCategory.WEARABLE_STREAMS,
    );
    expect(granted.reader).to.equal(doctor.address);
    expect(granted.records).to.be.greaterThan(0);
    expect(granted.batches).to.equal(2);

    const all = await pipeline.records(f.twinId, 0xffffffff);
    for (const { record, anchor } of all) {
      const ref = { twinId: f.twinId, recordCid: anchor.cid, reader: doctor.address };
      const covered = record.category === DataCategory.CONDITIONS;
      expect(await folders.keys.has(ref), record.key).to.equal(covered);
      if (!covered) continue;
      const envelope = await folders.blobs.get(anchor.cid);
      const context = { twinId: f.twinId, recordKey: record.key, category: record.category };
      const opened = JSON.parse(
        new TextDecoder().decode(unpad(openRecord(envelope, await folders.keys.get(ref), doctor, context))),
      );
      expect(opened.record.resource).to.deep.equal(JSON.parse(JSON.stringify(record.resource)));
    }
    for (const batch of pipeline.anchors(f.twinId).batches) {
      expect(await folders.keys.has({ twinId: f.twinId, recordCid: batch.cid, reader: doctor.address })).to.equal(true);
    }
    // records stored after the grant, in a covered category, are sealed for the grantee too (the conditions changed
    // since: a re-ingest stores only what changed)
    const cohort = await cohortSmall();
    const again = await pipeline.ingestEmr(f.twinId, withConditionNotes(cohort.patients[1].emr, 1), {
      sourceSigner: f.emr,
    });
    expect(again.records).to.equal(again.anchors.length);
    const conditions = all.filter((p) => p.record.category === DataCategory.CONDITIONS).length;
    const hasKey = (cid: string) => folders.keys.has({ twinId: f.twinId, recordCid: cid, reader: doctor.address });
    const sealedForDoctor = async () => (await Promise.all(again.anchors.map((a) => hasKey(a.cid)))).filter(Boolean);
    expect(await sealedForDoctor()).to.have.length(conditions);

    expect(await pipeline.revokeReader(f.twinId, doctor.address)).to.equal(2 * conditions + 2);
    expect(await sealedForDoctor()).to.have.length(0);
  });

  it("detects a tampered blob (BLOB_TAMPERED) with checkBlobs; answers keep the content checked when opened", async () => {
    const { pipeline, f, folders } = service;
    expect(await pipeline.checkBlobs(f.twinId)).to.equal(
      pipeline.anchors(f.twinId).records.length + pipeline.anchors(f.twinId).batches.length,
    );
    const conditions = await pipeline.records(f.twinId, DataCategory.CONDITIONS);
    const readings = await pipeline.readings(f.twinId, {});
    await flipByte(folders.blobs, conditions[0].anchor.cid, -1);
    await expectRejectCode(pipeline.checkBlobs(f.twinId), "BLOB_TAMPERED");
    // Queries answer from the blobs opened (and checked against their CIDs) before: the anchored content.
    expect(await pipeline.records(f.twinId, DataCategory.CONDITIONS)).to.deep.equal(conditions);
    const batch = pipeline.anchors(f.twinId).batches[0];
    await flipByte(folders.blobs, batch.cid, 40);
    expect(await pipeline.readings(f.twinId, {})).to.deep.equal(readings);
    // The store itself refuses the tampered bytes: a cold read (after a restart) fails.
    await expectRejectCode(folders.blobs.get(batch.cid), "BLOB_TAMPERED");
    const where = (await folders.blobs.locate(conditions[0].anchor.cid))!;
    await truncate(where.path, where.offset); // the blob's bytes gone (its file emptied, or its pack cut before it)
    await expectRejectCode(pipeline.checkBlobs(f.twinId), "BLOB_TAMPERED", "BLOB_NOT_FOUND");
  });

  it("erases only after the on-chain erasure; then reads fail with TWIN_ERASED and the anchors stay verifiable", async () => {
    const { pipeline, f, folders } = service;
    const [record] = await pipeline.records(f.twinId, DataCategory.CONDITIONS);
    const [reading] = (await pipeline.readings(f.twinId, {})).filter((p) => p.anchor !== null);
    const envelope = await folders.blobs.get(record.anchor.cid);
    const { anchor: state } = pipeline.version(f.twinId);

    await expectRejectCode(pipeline.erase(f.twinId), "TWIN_NOT_ERASED_ON_CHAIN");
    expect(pipeline.holding(f.twinId)).to.equal("active");
    expect(await folders.keys.countKeys(f.twinId)).to.be.greaterThan(0);

    await f.registry.connect(f.patient).eraseTwin(f.twinId);
    const erasure = await pipeline.erase(f.twinId);
    expect(erasure.destroyedKeys).to.be.greaterThan(0);
    expect(pipeline.holding(f.twinId)).to.equal("erased");
    expect(await folders.keys.countKeys(f.twinId)).to.equal(0);
    await expectRejectCode(pipeline.records(f.twinId, DataCategory.CONDITIONS), "TWIN_ERASED");
    await expectRejectCode(pipeline.readings(f.twinId, {}), "TWIN_ERASED");
    expectCode(() => pipeline.version(f.twinId), "TWIN_ERASED");
    await expectRejectCode(pipeline.grantReader(f.twinId, newWallet().signingKey.publicKey, 1), "TWIN_ERASED");
    await expectRejectCode(
      pipeline.ingestEmr(f.twinId, (await cohortSmall()).patients[1].emr, { sourceSigner: f.emr }),
      "TWIN_ERASED",
    );
    expect((await pipeline.erase(f.twinId)).erasedAt).to.equal(erasure.erasedAt); // idempotent

    const access = { updateLog: f.updateLog, twinId: f.twinId };
    expect((await verifyRecordAnchor(record.anchor, { ...access, envelope })).valid).to.equal(true);
    expect((await verifyReadingAnchor(reading.reading, reading.anchor!, access)).valid).to.equal(true);
    expect((await verifyStateAnchor(state!, access)).valid).to.equal(true);
    expect(pipeline.anchors(f.twinId).records.length).to.be.greaterThan(0);

    const restarted = await service.restart();
    expect(restarted.holding(f.twinId)).to.equal("erased");
    await expectRejectCode(restarted.records(f.twinId, 1), "TWIN_ERASED");
  });
});

/** Flip one byte of a stored blob where it lies on disk (its own file, or its range of a pack); negative from the end. */
async function flipByte(blobs: LocalFolderBlobStore, cid: string, at: number): Promise<void> {
  const where = (await blobs.locate(cid))!;
  const bytes = await readFile(where.path);
  bytes[where.offset + (at < 0 ? where.length + at : at)] ^= 1;
  await writeFile(where.path, bytes);
}
