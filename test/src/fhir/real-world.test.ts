import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ingest, ingestNdjson } from "../../../src/fhir";
import { DataCategory } from "../../../src/vocabulary";
import { SAMPLES_DIR, countBy, refused } from "./helpers";

/**
 * ../shared/fhir-samples/real-world (see SOURCES.md there): every file's expected outcome, the
 * counts taken from the JSON by the test itself, not from ingest.
 */
const DIR = path.join(SAMPLES_DIR, "real-world");
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const read = (file: string): Json => JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8")) as Json;
const typesOf = (bundle: Json): Record<string, number> =>
  countBy(bundle.entry as Json[], (e) => String(e.resource.resourceType));
const first = (lines: { line: number; text: string }[], test: (o: Json) => boolean): number =>
  lines.find((l) => test(JSON.parse(l.text) as Json))!.line;
const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

describe("fhir: real-world samples", () => {
  it("covers every file in real-world/", () => {
    expect(fs.readdirSync(DIR).sort()).to.deep.equal([
      "IPS-bundle-01.json",
      "JohnDoe.phr",
      "cerner_document_reference_206130480.json",
      "encounter_resource_broken_parse.json",
      "family-history.json",
      "medicare-eob.json",
      "observation_broken_parse.json",
      "synthea_Carl856_Powlowski563_49e4037a-b643-4acf-bbfe-e29ca79b97a1.json",
    ]);
  });

  describe("IPS-bundle-01.json (document)", () => {
    const bundle = read("IPS-bundle-01.json");
    const result = ingest(bundle);
    const types = typesOf(bundle);

    it("begins with its Composition and is accepted: every entry a record or counted as skipped", () => {
      expect(bundle.entry[0].resource.resourceType).to.equal("Composition");
      const unmodelled = ["Composition", "Practitioner", "Organization"];
      expect(result.skipped).to.deep.equal(Object.fromEntries(unmodelled.map((t) => [t, types[t]])));
      expect(result.records.length).to.equal(sum(types) - unmodelled.reduce((n, t) => n + types[t], 0));
      const patientEntry = (bundle.entry as Json[]).find((e) => e.resource.resourceType === "Patient")!;
      expect(result.patient).to.equal(`Patient/${patientEntry.resource.id}`);
    });

    it("names each MedicationStatement after the Medication it references", () => {
      const medications = new Map(
        (bundle.entry as Json[])
          .filter((e) => e.resource.resourceType === "Medication")
          .map((e) => [`Medication/${e.resource.id}`, e.resource.code]),
      );
      const statements = (bundle.entry as Json[]).filter((e) => e.resource.resourceType === "MedicationStatement");
      expect(statements.length).to.be.greaterThan(0);
      for (const { resource } of statements) {
        const code = medications.get(resource.medicationReference.reference)!;
        const record = result.records.find((r) => r.key === `MedicationStatement/${resource.id}`)!;
        expect(record.display).to.equal(code.text ?? code.coding[0].display);
        expect(record.code).to.equal(`${code.coding[0].system}|${code.coding[0].code}`);
      }
    });
  });

  describe("synthea_Carl856_Powlowski563_*.json (transaction with claims)", () => {
    const file = "synthea_Carl856_Powlowski563_49e4037a-b643-4acf-bbfe-e29ca79b97a1.json";
    const bundle = read(file);
    const result = ingest(bundle);
    const types = typesOf(bundle);

    it("accounts for every entry, the claims and EOBs as COVERAGE records", () => {
      expect(result.records.length + sum(result.skipped)).to.equal((bundle.entry as Json[]).length);
      const claims = result.records.filter((r) => r.kind === "claim");
      expect(claims.length).to.equal(types.Claim + types.ExplanationOfBenefit);
      expect(claims.every((r) => r.category === DataCategory.COVERAGE)).to.equal(true);
      for (const t of ["Organization", "Practitioner", "CareTeam", "Goal", "CarePlan"]) {
        expect(result.skipped[t], t).to.equal(types[t]);
      }
      const surveys = (bundle.entry as Json[]).filter((e) =>
        (e.resource.category ?? []).some((c: Json) => (c.coding ?? []).some((x: Json) => x.code === "survey")),
      );
      expect(result.skipped["Observation(survey)"]).to.equal(surveys.length);
    });
  });

  describe("JohnDoe.phr (NDJSON)", () => {
    const text = fs.readFileSync(path.join(DIR, "JohnDoe.phr"), "utf8");
    const lines = text.split("\n").map((l, i) => ({ line: i + 1, text: l.trim() }));
    const nonEmpty = lines.filter((l) => l.text !== "");

    // Line 2 (a Composition) is invalid R4, not a parser's whim: its subject and author are
    // `{"display": "", "reference": ""}`, and R4 strings are never empty (the string type's regex
    // is `[ \r\n\t\S]+`, and ele-1 wants every element to have a value or children). Its
    // sections also use `reference`, which Composition.section does not have (`entry` is).
    it("refuses the file at its first bad line, naming the line and why (an empty string on line 2)", () => {
      const first = nonEmpty.find((l) => JSON.parse(l.text).subject?.reference === "")!;
      expect(first.line).to.equal(2);
      expect(JSON.parse(first.text).resourceType).to.equal("Composition");
      const error = refused(() => ingestNdjson(text));
      expect(error.line).to.equal(first.line);
      expect(error.path).to.equal(`${JSON.parse(first.text).resourceType}.subject.reference`);
      expect(error.reason).to.equal("strings must not be empty");
      expect(error.message).to.contain("(line 2)");
    });

    it("with invalidLines: skip, ingests the good lines and lists each bad one with its line", () => {
      const result = ingestNdjson(text, { invalidLines: "skip" });
      expect(result.records.length + sum(result.skipped) + result.rejected!.length).to.equal(nonEmpty.length);
      const patientLine = nonEmpty.find((l) => JSON.parse(l.text).resourceType === "Patient")!;
      expect(result.patient).to.equal(`Patient/${JSON.parse(patientLine.text).id}`);
      // The lines whose issued is epoch milliseconds (not an instant) are among the rejected.
      const numericIssued = nonEmpty.filter((l) => typeof JSON.parse(l.text).issued === "number").map((l) => l.line);
      expect(numericIssued.length).to.be.greaterThan(0);
      for (const line of numericIssued) {
        expect(result.rejected!.find((r) => r.line === line)?.path).to.equal("Observation.issued");
      }
      // A subject reference with two ids (`Patient/x/y`) is not a reference R4 allows.
      const twoIds = nonEmpty.filter((l) =>
        /^Patient\/[^/]+\/[^/]+$/.test(JSON.parse(l.text).subject?.reference ?? ""),
      );
      for (const { line } of twoIds) {
        expect(result.rejected!.find((r) => r.line === line)?.path).to.match(/\.subject\.reference$/);
      }
      expect(result.rejected!.map((r) => r.line)).to.deep.equal(
        [first(nonEmpty, (o) => o.subject?.reference === ""), ...twoIds.map((l) => l.line), ...numericIssued].sort(
          (a, b) => a - b,
        ),
      );
    });
  });

  it("medicare-eob.json: one ExplanationOfBenefit, a COVERAGE claim record of its patient", () => {
    const eob = read("medicare-eob.json");
    const result = ingest(eob);
    expect(result.records.map((r) => [r.key, r.kind, r.category])).to.deep.equal([
      [`ExplanationOfBenefit/${eob.id}`, "claim", DataCategory.COVERAGE],
    ]);
    expect(result.patient).to.equal(eob.patient.reference);
  });

  it("cerner_document_reference_206130480.json: one document record, its URL kept, never fetched", () => {
    const doc = read("cerner_document_reference_206130480.json");
    const result = ingest(doc);
    expect(result.records.map((r) => [r.key, r.kind])).to.deep.equal([[`DocumentReference/${doc.id}`, "document"]]);
    expect(result.records[0].resource).to.deep.equal(doc);
  });

  it("family-history.json: the List's contained FamilyMemberHistory become records, the List is skipped", () => {
    const list = read("family-history.json");
    expect(list.resourceType).to.equal("List");
    const listed = new Set(
      (list.entry as Json[])
        .map((e) => String(e.item.reference))
        .filter((r) => r.startsWith("#"))
        .map((r) => r.slice(1)),
    );
    const members = (list.contained as Json[]).filter(
      (r) => r.resourceType === "FamilyMemberHistory" && listed.has(r.id),
    );
    expect(members.length).to.equal(8);
    const result = ingest(list);
    expect(result.skipped).to.deep.equal({ List: 1 });
    expect(result.records.map((r) => [r.key, r.kind, r.category])).to.deep.equal(
      members.map((m) => [`FamilyMemberHistory/${list.id}.${m.id}`, "family-history", DataCategory.CONDITIONS]),
    );
    expect(result.patient).to.equal(list.subject.reference);
    for (const m of members) {
      const record = result.records.find((r) => r.key === `FamilyMemberHistory/${list.id}.${m.id}`)!;
      const relationship = m.relationship.coding[0].display as string;
      expect(record.display).to.equal(relationship);
      // The record holds the contained resource, its id made unique and its links to siblings made keys.
      const resource = record.resource as unknown as Json;
      expect(resource.id).to.equal(`${list.id}.${m.id}`);
      expect(JSON.stringify(resource)).to.not.contain('"#');
    }
    // The links between members (the genetics-parent extension) now name the sibling's record.
    const father = result.records.find((r) => r.key === `FamilyMemberHistory/${list.id}.1`)!
      .resource as unknown as Json;
    expect(JSON.stringify(father)).to.contain(`"FamilyMemberHistory/${list.id}.2"`);
    expect(result.warnings ?? []).to.deep.equal([]);
  });

  it("encounter_resource_broken_parse.json: refused with a typed error at its status (not an R4 code)", () => {
    const encounter = read("encounter_resource_broken_parse.json");
    const error = refused(() => ingest(encounter));
    expect(error.path).to.equal("Encounter.status");
    expect(error.message).to.not.contain(encounter.status);
  });

  it("observation_broken_parse.json: accepted as one laboratory record (its comparator value is no reading)", () => {
    const obs = read("observation_broken_parse.json");
    const result = ingest(obs);
    expect(result.records.map((r) => [r.key, r.kind, r.category])).to.deep.equal([
      [`Observation/${obs.id}`, "lab", DataCategory.LABS],
    ]);
    expect(result.readings).to.deep.equal([]);
  });
});
