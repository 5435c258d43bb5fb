import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ingest } from "../../../src/fhir";
import { CATEGORY_RESOURCE_TYPES, RESOURCE_TYPE_CATEGORIES } from "../../../src/fhir/consent-codes";
import { MODELLED_TYPES } from "../../../src/fhir/facts";
import { DataCategory, namesOf, type DataCategoryName } from "../../../src/vocabulary";
import { SAMPLES_DIR } from "./helpers";

/**
 * Issue 11: every modelled resource type is mapped to a consent category, and the consent code
 * tables (what a FHIR Consent's provision.class means) agree with what ingest assigns.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The documented choice, per type: the categories its records may fall in. */
const EXPECTED: Readonly<Record<string, readonly DataCategoryName[]>> = {
  Patient: ["DEMOGRAPHICS"],
  Condition: ["CONDITIONS"],
  FamilyMemberHistory: ["CONDITIONS"],
  MedicationRequest: ["MEDICATIONS"],
  MedicationStatement: ["MEDICATIONS"],
  Medication: ["MEDICATIONS"],
  AllergyIntolerance: ["ALLERGIES"],
  Procedure: ["PROCEDURES"],
  Immunization: ["PROCEDURES"],
  Encounter: ["ENCOUNTERS"],
  Observation: ["LABS", "VITALS", "WEARABLE_STREAMS"],
  DiagnosticReport: ["LABS", "IMAGING"],
  DocumentReference: ["ENCOUNTERS", "LABS", "IMAGING"],
  Claim: ["COVERAGE"],
  ExplanationOfBenefit: ["COVERAGE"],
  Coverage: ["COVERAGE"],
};

describe("fhir: consent categories of the modelled resource types", () => {
  it("every modelled type has its categories in the Consent class table, and each category lists it", () => {
    expect([...MODELLED_TYPES].sort()).to.deep.equal(Object.keys(EXPECTED).sort());
    for (const type of MODELLED_TYPES) {
      expect(namesOf(DataCategory, RESOURCE_TYPE_CATEGORIES[type]), type).to.deep.equal(
        (Object.keys(DataCategory) as DataCategoryName[]).filter((n) => EXPECTED[type].includes(n)),
      );
      for (const name of EXPECTED[type])
        expect(CATEGORY_RESOURCE_TYPES[name], `${name} holds ${type}`).to.include(type);
    }
  });

  it("every record of every shared sample falls in a category its type allows", () => {
    const files = [
      ...fs.readdirSync(SAMPLES_DIR).filter((f) => f.endsWith(".json")),
      ...fs
        .readdirSync(path.join(SAMPLES_DIR, "real-world"))
        .filter((f) => f.endsWith(".json"))
        .map((f) => `real-world/${f}`),
    ];
    const seen = new Set<string>();
    for (const file of files) {
      const input = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, file), "utf8")) as Json;
      let records;
      try {
        records = ingest(input).records;
      } catch {
        continue; // refused samples have their own tests
      }
      for (const record of records) {
        const type = record.resource.resourceType;
        expect(RESOURCE_TYPE_CATEGORIES[type] & record.category, `${file}: ${record.key}`).to.equal(record.category);
        seen.add(type);
      }
    }
    for (const type of ["Immunization", "Procedure", "DiagnosticReport", "Encounter", "DocumentReference"])
      expect(seen.has(type), type).to.equal(true);
    for (const type of ["FamilyMemberHistory", "Claim", "ExplanationOfBenefit"])
      expect(seen.has(type), type).to.equal(true);
  });

  it("a DocumentReference is a visit note (ENCOUNTERS) unless its type says laboratory or imaging", () => {
    const doc = (type?: Json) => ({
      resourceType: "DocumentReference",
      id: "d1",
      status: "current",
      ...(type !== undefined ? { type } : {}),
      subject: { reference: "Patient/p1" },
      content: [{ attachment: { contentType: "text/plain", data: "aGVsbG8=" } }],
    });
    const loinc = (code: string) => ({ coding: [{ system: "http://loinc.org", code }] });
    expect(ingest(doc()).records[0].category).to.equal(DataCategory.ENCOUNTERS);
    expect(ingest(doc(loinc("11506-3"))).records[0].category).to.equal(DataCategory.ENCOUNTERS); // progress note
    expect(ingest(doc(loinc("18748-4"))).records[0].category).to.equal(DataCategory.IMAGING); // imaging study
    expect(ingest(doc(loinc("11502-2"))).records[0].category).to.equal(DataCategory.LABS); // laboratory report
  });
});
