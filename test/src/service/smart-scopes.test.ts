import { expect } from "chai";
import { dateRange, parseSearch } from "../../../src/service/fhir-api/search";
import {
  categoriesOfType,
  FHIR_CATEGORIES,
  FHIR_RESOURCE_TYPES,
  missingScopes,
  scopesOf,
} from "../../../src/service/smart-scopes";
import { ALL_CATEGORIES, DataCategory } from "../../../src/vocabulary";

describe("service/smart-scopes: the consent as SMART v2 scopes", () => {
  it("maps each category bit with resources at the API to its read-and-search scopes", () => {
    const expected: [number, string[]][] = [
      [DataCategory.DEMOGRAPHICS, ["patient/Patient.rs"]],
      [DataCategory.CONDITIONS, ["patient/Condition.rs"]],
      [DataCategory.MEDICATIONS, ["patient/MedicationRequest.rs"]],
      [DataCategory.ALLERGIES, ["patient/AllergyIntolerance.rs"]],
      [DataCategory.PROCEDURES, ["patient/Procedure.rs", "patient/Immunization.rs"]],
      [DataCategory.LABS, ["patient/Observation.rs?category=laboratory"]],
      [DataCategory.VITALS, ["patient/Observation.rs?category=vital-signs"]],
      [DataCategory.WEARABLE_STREAMS, ["patient/Observation.rs?category=wearable"]],
    ];
    for (const [bit, scopes] of expected) expect(scopesOf(bit), String(bit)).to.deep.equal(scopes);
    const none = ALL_CATEGORIES & ~FHIR_CATEGORIES;
    expect(scopesOf(none)).to.deep.equal([]);
    expect(none & DataCategory.ENCOUNTERS).to.not.equal(0);
    expect(scopesOf(ALL_CATEGORIES)).to.have.length(9);
  });

  it("every served resource type has categories, and the missing scopes are those not granted", () => {
    for (const type of FHIR_RESOURCE_TYPES) expect(categoriesOfType(type), type).to.not.equal(0);
    const observations = categoriesOfType("Observation");
    expect(observations).to.equal(DataCategory.LABS | DataCategory.VITALS | DataCategory.WEARABLE_STREAMS);
    expect(missingScopes("Observation", observations, DataCategory.VITALS)).to.deep.equal([
      "patient/Observation.rs?category=laboratory",
      "patient/Observation.rs?category=wearable",
    ]);
    expect(missingScopes("Condition", DataCategory.CONDITIONS, DataCategory.CONDITIONS)).to.deep.equal([]);
  });

  it("an Observation search reads the categories it names; the others read their type's", () => {
    expect(parseSearch("Observation", { category: ["vital-signs,wearable"] }).categories).to.equal(
      DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
    );
    expect(parseSearch("Observation", {}).explicitCategories).to.equal(false);
    expect(parseSearch("Condition", { category: ["problem-list-item"] }).categories).to.equal(DataCategory.CONDITIONS);
    expect(() => parseSearch("Observation", { category: ["laboratory"], _count: ["0"] })).to.throw(/_count/);
    expect(() => parseSearch("Patient", { code: ["x"] })).to.throw(/does not support/);
    expect(() => parseSearch("Observation", { category: ["laboratory", "vital-signs"] })).to.throw(/exclude/);
  });

  it("dates cover their precision: year, month, day, minute, second, with zones", () => {
    expect(dateRange("2025")).to.deep.equal([Date.UTC(2025, 0, 1), Date.UTC(2026, 0, 1)]);
    expect(dateRange("2025-02")).to.deep.equal([Date.UTC(2025, 1, 1), Date.UTC(2025, 2, 1)]);
    expect(dateRange("2025-12-31")).to.deep.equal([Date.UTC(2025, 11, 31), Date.UTC(2026, 0, 1)]);
    expect(dateRange("2025-01-10T09:00+01:00")).to.deep.equal([Date.UTC(2025, 0, 10, 8), Date.UTC(2025, 0, 10, 8, 1)]);
    expect(dateRange("2025-01-10T09:00:05.250Z")).to.deep.equal([
      Date.UTC(2025, 0, 10, 9, 0, 5, 250),
      Date.UTC(2025, 0, 10, 9, 0, 5, 251),
    ]);
    expect(dateRange("yesterday")).to.equal(null);
  });
});
