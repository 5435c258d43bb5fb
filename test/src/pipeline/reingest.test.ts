import { expect } from "chai";
import { decodeRecord } from "../../../src/pipeline/blob-codec";
import { expectRejectCode } from "../crypto/expect-error";
import { canonicalJson } from "../../../src/twin";
import { cohortSmall, removeFolders, startService, withConditionNotes, type Service } from "./harness";

type Entry = { fullUrl?: string; resource?: Record<string, unknown>; request?: { method: string; url: string } };
type BundleJson = { resourceType: "Bundle"; type: string; entry?: Entry[] };

async function patientBundle(index = 1): Promise<BundleJson> {
  return (await cohortSmall()).patients[index].emr as unknown as BundleJson;
}

/** The bundle as a transaction whose Conditions name their recorder by a conditional reference (legal there). */
function asTransactionWithConditionalReferences(bundle: BundleJson): BundleJson {
  const copy = JSON.parse(JSON.stringify(bundle)) as BundleJson;
  copy.type = "transaction";
  for (const entry of copy.entry ?? []) {
    entry.request = { method: "POST", url: String(entry.resource?.resourceType) };
    if (entry.resource?.resourceType === "Condition") {
      entry.resource.recorder = { reference: "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999999" };
    }
  }
  return copy;
}

function withoutPatient(bundle: BundleJson): BundleJson {
  const copy = JSON.parse(JSON.stringify(bundle)) as BundleJson;
  copy.entry = (copy.entry ?? []).filter((e) => e.resource?.resourceType !== "Patient");
  return copy;
}

describe("pipeline/reingest: unchanged records are not stored twice, one twin is one patient", function () {
  let service: Service;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(() => removeFolders(service?.folders));

  it("regression: a re-ingest of the same bundle stores and anchors nothing and makes no new version", async () => {
    const { pipeline, f } = service;
    const bundle = await patientBundle();
    const first = await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    const head = await f.updateLog.logHeadOf(f.twinId);
    const again = await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    expect(again.records).to.equal(0);
    expect(again.unchanged).to.equal(first.records);
    expect(again.anchors).to.deep.equal([]);
    expect(again.anchorGasUsed).to.equal(0n);
    expect(again.version.version).to.equal(first.version.version);
    expect(again.state).to.deep.equal(first.state);
    expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(head.sequence);
    expect(pipeline.anchors(f.twinId).records).to.have.length(first.records);
  });

  it("a changed record becomes a new version of it; only the changed ones are stored and anchored", async () => {
    const { pipeline, f } = service;
    const bundle = await patientBundle();
    const first = await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    const conditions = (bundle.entry ?? []).filter((e) => e.resource?.resourceType === "Condition").length;
    const changed = await pipeline.ingestEmr(f.twinId, withConditionNotes(bundle, 1), { sourceSigner: f.emr });
    expect(changed.records).to.equal(conditions);
    expect(changed.unchanged).to.equal(first.records - conditions);
    expect(changed.version.version).to.equal(first.version.version + 1);
    const answered = await pipeline.records(f.twinId, 0xffffffff);
    expect(answered).to.have.length(first.records); // one record per key: the newest version
    const notes = answered
      .filter((p) => p.record.resource.resourceType === "Condition")
      .map((p) => (p.record.resource as { note?: { text: string }[] }).note?.[0]?.text);
    expect(notes).to.deep.equal(new Array(conditions).fill("follow-up 1"));
  });

  it("regression: a bundle of another patient is refused for the twin (PATIENT_MISMATCH), nothing stored", async () => {
    const { pipeline, f } = service;
    await pipeline.ingestEmr(f.twinId, await patientBundle(1), { sourceSigner: f.emr });
    const before = pipeline.anchors(f.twinId);
    const other = await patientBundle(0);
    await expectRejectCode(pipeline.ingestEmr(f.twinId, other, { sourceSigner: f.emr }), "PATIENT_MISMATCH");
    expect(pipeline.anchors(f.twinId)).to.deep.equal(before);
  });

  it("a bundle without a Patient is taken only with the twin's patient reference, and it must be the same one", async () => {
    const { pipeline, f } = service;
    const bundle = await patientBundle(1);
    const patientId = String((bundle.entry ?? []).find((e) => e.resource?.resourceType === "Patient")?.resource?.id);
    await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    const partial = withConditionNotes(withoutPatient(bundle), 2);
    await expectRejectCode(pipeline.ingestEmr(f.twinId, partial, { sourceSigner: f.emr }), "FHIR_INVALID");
    await expectRejectCode(
      pipeline.ingestEmr(f.twinId, partial, { sourceSigner: f.emr, patient: "Patient/someone-else" }),
      "FHIR_INVALID",
      "PATIENT_MISMATCH",
    );
    const taken = await pipeline.ingestEmr(f.twinId, partial, {
      sourceSigner: f.emr,
      patient: `urn:uuid:${patientId}`,
    });
    expect(taken.records).to.be.greaterThan(0);
  });

  it("regression: conditional references of a transaction bundle pass ingestEmr and survive a restart", async () => {
    const { pipeline, f } = service;
    const transaction = asTransactionWithConditionalReferences(await patientBundle(1));
    const summary = await pipeline.ingestEmr(f.twinId, transaction, { sourceSigner: f.emr });
    expect(summary.records).to.be.greaterThan(0);
    const before = await pipeline.records(f.twinId, 0xffffffff);
    const restarted = await service.restart();
    expect(await restarted.records(f.twinId, 0xffffffff)).to.deep.equal(before);
  });

  it("decodes a record sealed before twinledger-record/2 (the bare resource) with its bundle context", () => {
    const resource = {
      resourceType: "Condition",
      id: "c1",
      clinicalStatus: {
        coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }],
      },
      code: { coding: [{ system: "http://snomed.info/sct", code: "38341003", display: "Hypertension" }] },
      subject: { reference: "Patient/p1" },
      recorder: { reference: "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999999" },
    };
    const decoded = decodeRecord(new TextEncoder().encode(canonicalJson(resource)), "Condition/c1");
    expect(decoded.record.key).to.equal("Condition/c1");
    expect(decoded.record.display).to.equal("Hypertension");
    expect(() => decodeRecord(new TextEncoder().encode(canonicalJson(resource)), "Condition/other")).to.throw(
      /does not decode/,
    );
  });
});
