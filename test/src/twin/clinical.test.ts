import { expect } from "chai";
import { buildTwinModel, conditions, medications, timeline, TwinEngineError } from "../../../src/twin";
import type { TwinRecord } from "../../../src/fhir/records";
import { allergy, condition, encounter, immunization, lab, medication, procedure } from "./builders";

describe("twin clinical model", () => {
  const records: TwinRecord[] = [
    condition("htn", { display: "Hypertension", code: "38341003", status: "active", onset: "2019-04-02" }),
    condition("flu", {
      display: "Influenza",
      status: "resolved",
      onset: "2025-12-20T10:00:00Z",
      abatement: "2025-12-28",
    }),
    condition("dm2", { display: "Type 2 diabetes", status: "active", onset: "2015-06-01" }),
    condition("old-asthma", { display: "Asthma", status: "remission" }),
    condition("typo", { display: "Fracture", status: "active", verification: "entered-in-error" }),
    condition("ruled-out", { display: "Pneumonia", status: "active", verification: "refuted" }),
    medication("metformin", { display: "Metformin 500 mg", status: "active", since: "2015-06-02" }),
    medication("amoxicillin", { display: "Amoxicillin", status: "completed", since: "2025-12-20" }),
    medication("lisinopril", { display: "Lisinopril 10 mg", status: "active", since: "2019-04-03" }),
    medication("mistake", { display: "Warfarin", status: "entered-in-error" }),
    allergy("penicillin", { display: "Penicillin", status: "active", criticality: "high", recorded: "2010-01-01" }),
    allergy("latex", { display: "Latex", status: "resolved" }),
    encounter("e2", "2025-12-20T09:00:00Z", "2025-12-20T09:30:00Z"),
    procedure("p1", "2012-07-14"),
    immunization("i1", "2025-10-01T08:00:00Z"),
    encounter("undated"),
    lab("hba1c"),
  ];

  it("keeps the problem list with state and onset, by onset (undated last)", () => {
    const { problems } = buildTwinModel(records, []).model;
    expect(problems.map((p) => [p.key, p.state, p.onset])).to.deep.equal([
      ["Condition/dm2", "active", "2015-06-01"],
      ["Condition/htn", "active", "2019-04-02"],
      ["Condition/flu", "resolved", "2025-12-20T10:00:00Z"],
      ["Condition/old-asthma", "resolved", undefined],
    ]);
    expect(problems[1]).to.deep.include({
      display: "Hypertension",
      code: "http://snomed.info/sct|38341003",
      onsetAt: Date.UTC(2019, 3, 2),
    });
    expect(problems[2].abatement).to.equal("2025-12-28");
    expect(problems[3].onsetAt).to.equal(null);
  });

  it("leaves out entered-in-error and refuted records but counts every effective record", () => {
    const { model } = buildTwinModel(records, []);
    expect(model.problems.map((p) => p.key)).to.not.include.members(["Condition/typo", "Condition/ruled-out"]);
    expect(model.medications.map((m) => m.key)).to.not.include("MedicationRequest/mistake");
    expect(model.recordCounts).to.deep.equal({
      condition: 6,
      medication: 4,
      allergy: 2,
      encounter: 2,
      procedure: 1,
      immunization: 1,
      lab: 1,
    });
  });

  it("lists medications with their activity", () => {
    const version = buildTwinModel(records, []);
    expect(medications(version, { activeOnly: true }).map((m) => m.display)).to.deep.equal([
      "Metformin 500 mg",
      "Lisinopril 10 mg",
    ]);
    expect(medications(version).map((m) => [m.display, m.active])).to.deep.include(["Amoxicillin", false]);
    expect(conditions(version, { state: "resolved" }).map((p) => p.display)).to.deep.equal(["Influenza", "Asthma"]);
  });

  it("lists allergies with criticality", () => {
    const { allergies } = buildTwinModel(records, []).model;
    expect(allergies.map((a) => [a.display, a.active, a.criticality])).to.deep.equal([
      ["Penicillin", true, "high"],
      ["Latex", false, undefined],
    ]);
  });

  it("keeps a timeline of encounters, procedures and immunizations by time", () => {
    const version = buildTwinModel(records, []);
    expect(version.model.timeline.map((e) => [e.kind, e.key])).to.deep.equal([
      ["procedure", "Procedure/p1"],
      ["immunization", "Immunization/i1"],
      ["encounter", "Encounter/e2"],
      ["encounter", "Encounter/undated"],
    ]);
    expect(version.model.timeline[2]).to.include({ start: "2025-12-20T09:00:00Z", end: "2025-12-20T09:30:00Z" });
    expect(timeline(version, { kinds: ["encounter"], from: Date.UTC(2025, 0, 1) }).map((e) => e.key)).to.deep.equal([
      "Encounter/e2",
    ]);
  });

  it("keeps the newest version of a record whatever the arrival order", () => {
    const v1 = condition("flu", { status: "active", onset: "2025-12-20", lastUpdated: "2025-12-20T10:00:00Z" });
    const v2 = condition("flu", { status: "resolved", onset: "2025-12-20", lastUpdated: "2025-12-28T10:00:00Z" });
    for (const order of [
      [v1, v2],
      [v2, v1],
    ]) {
      expect(buildTwinModel(order, []).model.problems[0].state).to.equal("resolved");
    }
    const byVersionId = [
      condition("x", { status: "active", versionId: "9" }),
      condition("x", { status: "resolved", versionId: "10" }),
    ];
    expect(buildTwinModel(byVersionId, []).model.problems[0].state).to.equal("resolved");
    expect(buildTwinModel([...byVersionId].reverse(), []).stateRoot).to.equal(
      buildTwinModel(byVersionId, []).stateRoot,
    );
  });

  it("rejects a record without a key or with an unknown kind", () => {
    const bad = { ...condition("x"), key: "" };
    expect(() => buildTwinModel([bad], [])).to.throw(TwinEngineError, /record 0 has no key/);
    const odd = { ...condition("x"), kind: "genome" as never };
    expect(() => buildTwinModel([odd], [])).to.throw(TwinEngineError, /unknown kind/);
  });
});
