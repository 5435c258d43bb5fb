import { DataCategory, type DataCategoryBit } from "../vocabulary";

/**
 * The consent as SMART App Launch v2 scopes at the gateway's FHIR read API (fhir-api/). A grant of READ on a
 * DataCategory bit is the read-and-search (`rs`) scopes of the resource types and categories the bit covers:
 *
 * | DataCategory     | scopes                                                      |
 * |------------------|-------------------------------------------------------------|
 * | DEMOGRAPHICS     | `patient/Patient.rs`                                        |
 * | CONDITIONS       | `patient/Condition.rs`                                      |
 * | MEDICATIONS      | `patient/MedicationRequest.rs`                              |
 * | ALLERGIES        | `patient/AllergyIntolerance.rs`                             |
 * | PROCEDURES       | `patient/Procedure.rs`, `patient/Immunization.rs`           |
 * | LABS             | `patient/Observation.rs?category=laboratory`                |
 * | VITALS           | `patient/Observation.rs?category=vital-signs`               |
 * | WEARABLE_STREAMS | `patient/Observation.rs?category=wearable`                  |
 *
 * An Observation's category here is the twin's classification of it (src/fhir/classify.ts): `laboratory` (LABS),
 * `vital-signs` (VITALS: taken in care) or `wearable` (WEARABLE_STREAMS: a device or a personal app, whatever the
 * resource's own category coding says), because that is what the consent grants. The other categories (encounters,
 * imaging, genomics, mental health, the twin model, coverage) have no resource at this API, hence no scope; only READ
 * has a scope (the API reads; AGGREGATE, WRITE and SHARE have none here). Scopes hold per purpose: a grant's purposes
 * are not part of a scope, so an app asks for the scopes it holds for the purpose it signs.
 */

/** The resource types the FHIR read API serves. */
export const FHIR_RESOURCE_TYPES = [
  "Patient",
  "Observation",
  "Condition",
  "MedicationRequest",
  "AllergyIntolerance",
  "Immunization",
  "Procedure",
] as const;
export type FhirResourceType = (typeof FHIR_RESOURCE_TYPES)[number];

/** The twin's Observation categories, as scopes and the `category` search parameter name them. */
export const OBSERVATION_CATEGORIES = {
  laboratory: DataCategory.LABS,
  "vital-signs": DataCategory.VITALS,
  wearable: DataCategory.WEARABLE_STREAMS,
} as const satisfies Record<string, DataCategoryBit>;
export type ObservationCategory = keyof typeof OBSERVATION_CATEGORIES;

/** The systems an Observation category may be written with in a search (`system|code`), beside no system. */
export const OBSERVATION_CATEGORY_SYSTEMS: readonly string[] = [
  "http://terminology.hl7.org/CodeSystem/observation-category",
  "https://twinledger.dev/fhir/CodeSystem/observation-category",
];

/** One scope target: a resource type, and for Observations the twin's category. */
export interface ScopeTarget {
  readonly resourceType: FhirResourceType;
  readonly category?: ObservationCategory;
}

/** The scope targets of each category bit that has resources at the API (see the module comment). */
const TARGETS: ReadonlyArray<readonly [DataCategoryBit, readonly ScopeTarget[]]> = [
  [DataCategory.DEMOGRAPHICS, [{ resourceType: "Patient" }]],
  [DataCategory.CONDITIONS, [{ resourceType: "Condition" }]],
  [DataCategory.MEDICATIONS, [{ resourceType: "MedicationRequest" }]],
  [DataCategory.ALLERGIES, [{ resourceType: "AllergyIntolerance" }]],
  [DataCategory.PROCEDURES, [{ resourceType: "Procedure" }, { resourceType: "Immunization" }]],
  [DataCategory.LABS, [{ resourceType: "Observation", category: "laboratory" }]],
  [DataCategory.VITALS, [{ resourceType: "Observation", category: "vital-signs" }]],
  [DataCategory.WEARABLE_STREAMS, [{ resourceType: "Observation", category: "wearable" }]],
];

/** The categories that have resources at the FHIR API (the union of the table). */
export const FHIR_CATEGORIES = TARGETS.reduce((mask, [bit]) => mask | bit, 0);

/** The category bits of a resource type: one bit, or for Observation the three reading categories. */
export function categoriesOfType(resourceType: FhirResourceType): number {
  return TARGETS.filter(([, targets]) => targets.some((t) => t.resourceType === resourceType)).reduce(
    (mask, [bit]) => mask | bit,
    0,
  );
}

/** The SMART v2 scope string of a target: `patient/<Type>.rs[?category=<code>]`. */
export function scopeOf(target: ScopeTarget): string {
  return `patient/${target.resourceType}.rs${target.category !== undefined ? `?category=${target.category}` : ""}`;
}

/**
 * The scopes a READ grant on `categories` holds at the API, in the table's order; with `resourceType`, only that
 * type's.
 */
export function scopesOf(categories: number, resourceType?: FhirResourceType): string[] {
  return TARGETS.filter(([bit]) => (categories & bit) !== 0)
    .flatMap(([, targets]) => targets)
    .filter((t) => resourceType === undefined || t.resourceType === resourceType)
    .map(scopeOf);
}

/** The scopes a request over `needed` categories of `resourceType` lacks when `allowed` are granted. */
export function missingScopes(resourceType: FhirResourceType, needed: number, allowed: number): string[] {
  return scopesOf(needed & ~allowed, resourceType);
}
