import { expect } from "chai";
import { cidHashOf, verifyRecordProof, verifyUpdateChain } from "../../../src/chain/anchors";
import { openRecord } from "../../../src/crypto";
import { PipelineError, verifyRecordAnchor, type EmrIngestSummary, type RecordsAnchor } from "../../../src/pipeline";
import { ingest } from "../../../src/fhir";
import { parseCid } from "../../../src/store";
import { DataCategory, SourceKind } from "../../../src/vocabulary";
import { EMR_CATEGORIES } from "../../fixtures";
import { expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, countBlobs, removeFolders, sample, startService, type Service } from "./harness";

describe("pipeline/emr: the Synthea bundle, ingested, sealed, stored and anchored", function () {
  let service: Service;
  let summary: EmrIngestSummary;
  let elapsedMs: number;

  before(async () => {
    service = await startService();
    // The Synthea export holds an imaging study: the patient lets the EMR write that category too.
    const { registry, patient, emr, twinId } = service.f;
    await registry
      .connect(patient)
      .authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES | DataCategory.IMAGING);
    const bundle = await sample("synthea-patient-bundle.json");
    const started = Date.now();
    summary = await service.pipeline.ingestEmr(service.f.twinId, bundle, { sourceSigner: service.f.emr });
    elapsedMs = Date.now() - started;
    console.log(
      `      Synthea ingest: ${summary.records} records in one anchorRecords tx, ` +
        `anchor gas ${summary.anchorGasUsed}, ` +
        `commit gas ${summary.commitGasUsed}, ${elapsedMs} ms`,
    );
  });
  after(() => removeFolders(service?.folders));

  it("anchors the whole ingest as one record batch at sequence 1, and the head equals the rebuilt hash chain", async () => {
    const { updateLog, twinId, emr } = service.f;
    expect(summary.records).to.equal(328);
    expect(summary.anchors).to.have.length(328);
    const [first] = summary.anchors;
    for (const anchor of summary.anchors) {
      expect(anchor.kind).to.equal("records");
      expect(anchor.sequence).to.equal("1");
      expect(anchor.recordsRoot).to.equal(first.recordsRoot);
      expect(anchor.source).to.equal(emr.address);
      expect(anchor.transactionHash).to.equal(first.transactionHash);
    }
    expect(await updateLog.queryFilter(updateLog.filters.UpdateRecorded(twinId))).to.have.length(0);
    const events = await updateLog.queryFilter(updateLog.filters.RecordsAnchored(twinId));
    expect(events).to.have.length(1);
    expect(events[0].args.recordsRoot).to.equal(first.recordsRoot);
    expect(Number(events[0].args.categories)).to.equal(summary.anchors.reduce((m, a) => m | a.category, 0));
    const head = await updateLog.logHeadOf(twinId);
    expect(
      verifyUpdateChain(
        events.map((e) => e.args),
        head,
      ).valid,
    ).to.equal(true);
    expect(head.sequence).to.equal(1n);
  });

  it("gives every record a proof that verifyRecord accepts on chain", async () => {
    const { updateLog, twinId } = service.f;
    for (const anchor of summary.anchors) {
      const cidHash = cidHashOf(parseCid(anchor.cid).bytes);
      expect(
        verifyRecordProof(anchor.recordsRoot, anchor.category, anchor.contentHash, cidHash, anchor.proof),
      ).to.equal(true);
      expect(
        await updateLog.verifyRecord(
          twinId,
          anchor.source,
          anchor.recordsRoot,
          anchor.category,
          anchor.contentHash,
          cidHash,
          [...anchor.proof],
        ),
      ).to.equal(true);
    }
  });

  it("verifies every record of the ingest against the blob the reader holds", async () => {
    const { updateLog, twinId } = service.f;
    for (const anchor of summary.anchors) {
      const envelope = await service.folders.blobs.get(anchor.cid);
      expect(await verifyRecordAnchor(anchor, { updateLog, twinId, envelope })).to.deep.equal({
        valid: true,
        reason: null,
      });
    }
  });

  it("summarizes what it did: readings, skipped resources, gas", () => {
    expect(summary.readings).to.equal(77);
    expect(summary.skippedCount).to.equal(36);
    expect(summary.skipped.DocumentReference).to.equal(undefined);
    expect(summary.anchorGasUsed > 0n).to.equal(true);
    expect(summary.commitGasUsed > 0n).to.equal(true);
    expect(summary.state?.version).to.equal(1);
  });

  it("commits the engine's version on chain", async () => {
    const { version, anchor } = service.pipeline.version(service.f.twinId);
    const onChain = await service.f.updateLog.twinStateOf(service.f.twinId);
    expect(anchor).to.not.equal(null);
    expect(onChain.version).to.equal(1n);
    expect(onChain.epoch).to.equal(1n);
    expect(anchor?.chainVersion).to.equal(1);
    expect(anchor?.epoch).to.equal(1);
    expect(onChain.stateRoot).to.equal(version.stateRoot);
    expect(onChain.sourcesRoot).to.equal(version.sourcesRoot);
    expect(version.sourceHashes).to.have.length(328);
    expect(await service.pipeline.commit(service.f.twinId)).to.deep.equal(anchor); // already committed: no new tx
  });

  it("answers records by category, decrypted by the service, each with its anchor", async () => {
    const { pipeline, f } = service;
    const conditions = await pipeline.records(f.twinId, DataCategory.CONDITIONS);
    expect(conditions.length).to.be.greaterThan(0);
    expect(conditions.every((p) => p.record.category === DataCategory.CONDITIONS)).to.equal(true);
    const all = await pipeline.records(f.twinId, 0xffffffff);
    expect(all).to.have.length(328);
    const engineKeys = pipeline
      .version(f.twinId)
      .version.records.map((r) => r.key)
      .sort();
    expect(all.map((p) => p.record.key).sort()).to.deep.equal(engineKeys);
  });

  it("stores only ciphertext, which the patient's key opens too", async () => {
    const { folders, patientKey, f } = service;
    const [first] = await service.pipeline.records(f.twinId, DataCategory.DEMOGRAPHICS);
    const envelope = await folders.blobs.get(first.anchor.cid);
    expect(Buffer.from(envelope).includes(Buffer.from(first.record.key.split("/")[1]))).to.equal(false);
    const wrapped = await folders.keys.get({
      twinId: f.twinId,
      recordCid: first.anchor.cid,
      reader: patientKey.address,
    });
    const context = { twinId: f.twinId, recordKey: first.record.key, category: first.record.category };
    const plaintext = JSON.parse(new TextDecoder().decode(openRecord(envelope, wrapped, patientKey, context)));
    expect(plaintext).to.deep.equal(JSON.parse(JSON.stringify(first.record.resource)));
  });

  it("answers the EMR's vital readings with the anchor of their record", async () => {
    const readings = await service.pipeline.readings(service.f.twinId, {});
    expect(readings).to.have.length(77);
    expect(readings.every((r) => r.anchor === null && r.recordAnchor !== undefined)).to.equal(true);
  });
});

describe("pipeline/emr: refusals store and anchor nothing; failures keep what is anchored", function () {
  let service: Service;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(() => removeFolders(service?.folders));

  it("a refused bundle (duplicate id) stores nothing and anchors nothing", async () => {
    const { pipeline, f, folders } = service;
    await expectRejectCode(
      pipeline.ingestEmr(f.twinId, await sample("bundle-duplicate-id.json"), { sourceSigner: f.emr }),
      "FHIR_INVALID",
    );
    expect(await countBlobs(folders.blobs)).to.equal(0);
    expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(0n);
    expect(pipeline.holding(f.twinId)).to.equal("unknown");
  });

  it("a source not authorized for every category of the bundle is refused before anything is stored", async () => {
    const { pipeline, f, folders } = service;
    const bundle = await sample("synthea-patient-bundle.json");
    // the EMR may not write IMAGING, and the bundle holds an imaging study: nothing of it is taken
    const error = await expectRejectCode(
      pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr }),
      "SOURCE_NOT_AUTHORIZED",
    );
    expect(error.message).to.include("IMAGING");
    await expectRejectCode(pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.wearable }), "SOURCE_NOT_AUTHORIZED");
    expect(error).to.be.instanceOf(PipelineError);
    expect(await countBlobs(folders.blobs)).to.equal(0);
    expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(0n);
  });

  it("a suspended twin is refused", async () => {
    const { pipeline, f } = service;
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await expectRejectCode(
      pipeline.ingestEmr(f.twinId, await sample("synthea-patient-bundle.json"), { sourceSigner: f.emr }),
      "TWIN_NOT_ACTIVE",
    );
    expect(await countBlobs(service.folders.blobs)).to.equal(0);
  });

  it("a failed anchor stores and anchors nothing, and the next ingest goes through", async () => {
    const { pipeline, f, folders } = service;
    const bundle = (await cohortSmall()).patients[1].emr;
    const send = f.emr.sendTransaction.bind(f.emr);
    f.emr.sendTransaction = async () => {
      throw new Error("the node went away");
    };
    try {
      await expectRejectCode(pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr }), "ANCHOR_FAILED");
    } finally {
      f.emr.sendTransaction = send;
    }
    expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(0n);
    expect(await countBlobs(folders.blobs)).to.equal(0);
    expect(pipeline.holding(f.twinId)).to.equal("unknown");

    const again = await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    expect(again.anchors.every((a) => a.sequence === "1")).to.equal(true);
    expect(again.state?.version).to.equal(1);
    expect(await pipeline.records(f.twinId, 0xffffffff)).to.have.length(again.records);
  });

  it("anchors a 22-record bundle in one transaction of at most 120,000 gas", async () => {
    const { pipeline, f } = service;
    const bundle = bundleOf(22, (await cohortSmall()).patients[1].emr);
    const head = await f.updateLog.logHeadOf(f.twinId);
    const ingested = await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    console.log(`      ${ingested.records}-record ingest: anchor gas ${ingested.anchorGasUsed} (one anchorRecords)`);
    expect(ingested.records).to.equal(22);
    expect(new Set(ingested.anchors.map((a: RecordsAnchor) => a.transactionHash)).size).to.equal(1);
    expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(head.sequence + 1n);
    expect(ingested.anchorGasUsed <= 120_000n).to.equal(true);
  });
});

/** A copy of an EMR bundle cut at the end to give exactly `records` twin records. */
function bundleOf(records: number, emr: unknown): unknown {
  const bundle = JSON.parse(JSON.stringify(emr)) as { entry: unknown[] };
  while (ingest(bundle, { origin: "emr" }).records.length > records) bundle.entry.pop();
  return bundle;
}
