import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ingest, rebuildRecord } from "../../../src/fhir";
import { buildTwinModel, reportResults, TwinEngine } from "../../../src/twin";
import { SAMPLES_DIR, byKey, vitalObservation } from "./helpers";

/**
 * Issue 11: a DiagnosticReport's `result` references link to the Observations in the twin: in
 * the same input, contained, or by reference to another ingest's records; a result the twin
 * does not hold is listed as missing, with a warning at ingest, never a refusal.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const patient = { resourceType: "Patient", id: "p1" };
const collection = (...resources: object[]) => ({
  resourceType: "Bundle",
  type: "collection",
  entry: resources.map((resource) => ({ resource })),
});
const lab = (id: string) =>
  vitalObservation({
    id,
    category: [
      { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] },
    ],
    code: { coding: [{ system: "http://loinc.org", code: "718-7", display: "Hemoglobin" }] },
    valueQuantity: { value: 13.2, unit: "g/dL", system: "http://unitsofmeasure.org", code: "g/dL" },
  });
const report = (result: object[], extra: Json = {}) => ({
  resourceType: "DiagnosticReport",
  id: "r1",
  status: "final",
  code: { coding: [{ system: "http://loinc.org", code: "58410-2", display: "CBC panel" }] },
  subject: { reference: "Patient/p1" },
  effectiveDateTime: "2024-03-01T08:00:00Z",
  result,
  ...extra,
});

describe("fhir + twin: diagnostic reports and their results", () => {
  it("links results in the same Bundle, in the report's order", () => {
    const input = collection(
      patient,
      report([{ reference: "Observation/b" }, { reference: "Observation/a" }]),
      lab("a"),
      lab("b"),
    );
    const result = ingest(input);
    expect(byKey(result.records, "DiagnosticReport/r1").results).to.deep.equal(["Observation/b", "Observation/a"]);
    expect(result.warnings ?? []).to.deep.equal([]);
    const twin = buildTwinModel(result.records, result.readings);
    const linked = reportResults(twin, "DiagnosticReport/r1")!;
    expect(linked.results.map((r) => r.key)).to.deep.equal(["Observation/b", "Observation/a"]);
    expect(linked.missing).to.deep.equal([]);
    expect(linked.report.results).to.deep.equal(["Observation/b", "Observation/a"]);
  });

  it("links urn:uuid and absolute references to the Observation's key", () => {
    const uuid = "0b4ba2b5-0e4c-4f1e-9a6e-0f3a3d1c2b11";
    const input = {
      resourceType: "Bundle",
      type: "collection",
      entry: [
        { resource: patient },
        {
          resource: report([
            { reference: `urn:uuid:${uuid.toUpperCase()}` },
            { reference: "https://ehr.example.org/fhir/Observation/a/_history/3" },
          ]),
        },
        { fullUrl: `urn:uuid:${uuid}`, resource: { ...lab("x"), id: undefined } },
        { resource: lab("a") },
      ],
    };
    const result = ingest(input);
    expect(byKey(result.records, "DiagnosticReport/r1").results).to.deep.equal([
      `Observation/${uuid}`,
      "Observation/a",
    ]);
    expect(result.warnings ?? []).to.deep.equal([]);
    const linked = reportResults(buildTwinModel(result.records, result.readings), "DiagnosticReport/r1")!;
    expect(linked.results.map((r) => r.key)).to.deep.equal([`Observation/${uuid}`, "Observation/a"]);
  });

  it("unpacks contained results into records of their own (Observation/<report>.<id>) and links them", () => {
    const contained = { ...lab("hb"), subject: undefined };
    const result = ingest(collection(patient, report([{ reference: "#hb" }], { contained: [contained] })));
    expect(result.records.map((r) => r.key).sort()).to.deep.equal([
      "DiagnosticReport/r1",
      "Observation/r1.hb",
      "Patient/p1",
    ]);
    expect(byKey(result.records, "DiagnosticReport/r1").results).to.deep.equal(["Observation/r1.hb"]);
    expect(byKey(result.records, "Observation/r1.hb").kind).to.equal("lab");
    const linked = reportResults(buildTwinModel(result.records, result.readings), "DiagnosticReport/r1")!;
    expect(linked.results.map((r) => r.key)).to.deep.equal(["Observation/r1.hb"]);
  });

  it("warns about a result not in the input, lists it missing, and links it once another ingest brings it", () => {
    const first = ingest(
      collection(patient, report([{ reference: "Observation/a" }, { reference: "Observation/later" }]), lab("a")),
    );
    expect(first.warnings!.map((w) => w.path)).to.deep.equal(["Bundle.entry[1].resource.result[1]"]);
    const engine = new TwinEngine();
    engine.apply({ records: first.records, readings: first.readings });
    expect(reportResults(engine.current, "DiagnosticReport/r1")!.missing).to.deep.equal(["Observation/later"]);
    const second = ingest(collection(patient, lab("later")));
    engine.apply({ records: second.records, readings: second.readings });
    const linked = reportResults(engine.current, "DiagnosticReport/r1")!;
    expect(linked.results.map((r) => r.key)).to.deep.equal(["Observation/a", "Observation/later"]);
    expect(linked.missing).to.deep.equal([]);
  });

  it("warns about a result named only by identifier or display, and keeps the report", () => {
    const result = ingest(
      collection(patient, report([{ identifier: { system: "urn:lab", value: "42" } }, { display: "Hemoglobin" }])),
    );
    expect(byKey(result.records, "DiagnosticReport/r1").results).to.deep.equal([]);
    expect(result.warnings!.map((w) => w.path)).to.deep.equal([
      "Bundle.entry[1].resource.result[0]",
      "Bundle.entry[1].resource.result[1]",
    ]);
  });

  it("a rebuilt report (the pipeline's blob decode) has the same results", () => {
    const { records } = ingest(collection(patient, report([{ reference: "Observation/a" }]), lab("a")));
    const stored = byKey(records, "DiagnosticReport/r1");
    expect(rebuildRecord(stored.resource, stored.key).record).to.deep.equal(stored);
  });

  it("Synthea: every report's results resolve to the bundle's Observations, none missing", () => {
    const file = path.join(
      SAMPLES_DIR,
      "real-world",
      "synthea_Carl856_Powlowski563_49e4037a-b643-4acf-bbfe-e29ca79b97a1.json",
    );
    const bundle = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
    const reports = (bundle.entry as Json[]).filter((e) => e.resource.resourceType === "DiagnosticReport");
    const observationUrls = new Set(
      (bundle.entry as Json[]).filter((e) => e.resource.resourceType === "Observation").map((e) => e.fullUrl),
    );
    const result = ingest(bundle);
    const twin = buildTwinModel(result.records, result.readings);
    let linked = 0;
    for (const { resource } of reports) {
      const expected = ((resource.result ?? []) as Json[]).map((r) => r.reference as string);
      expect(expected.every((r) => observationUrls.has(r))).to.equal(true);
      const found = reportResults(twin, `DiagnosticReport/${resource.id}`)!;
      expect(found.results.map((r) => `urn:uuid:${r.key.slice("Observation/".length)}`)).to.deep.equal(expected);
      expect(found.missing).to.deep.equal([]);
      linked += expected.length;
    }
    expect(linked).to.be.greaterThan(0);
  });
});
