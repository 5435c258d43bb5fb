import { DataCategory, type ActionName, type DataCategoryName, type PurposeName } from "../vocabulary";
import { System } from "./codes";

/**
 * The code tables between FHIR R4 Consent and TwinLedger's grant masks. Each table gives, for a
 * TwinLedger bit, the FHIR code written on export (`canonical`) and the codes read on import.
 */

/** v3 PurposeOfUse (v3-ActReason) codes read as each purpose; the first is the one written. */
export const PURPOSE_CODES: Readonly<Record<PurposeName, readonly string[]>> = {
  TREATMENT: ["TREAT"],
  RESEARCH: ["HRESCH", "BIORCH"],
  INSURANCE_CLAIM: ["CLMATTCH", "COVERAGE", "COVAUTH", "HPAYMT", "ELIGDTRM", "ELIGVER", "REMITADV"],
  EMERGENCY: ["ETREAT", "BTG"],
  PUBLIC_HEALTH: ["PUBHLTH", "POPHLTH", "DISASTER", "THREAT"],
  CARE_COORDINATION: ["CAREMGT", "COC"],
  CLINICAL_TRIAL: ["CLINTRCH", "CLINTRL"],
  /** No v3 code: written in TwinLedger's purpose system. */
  DEVICE_MONITORING: [],
  PERSONAL_USE: ["PATRQT", "FAMRQT", "PWATRNY"],
  AUDIT: ["HCOMPL", "HACCRED"],
};

/** The systems v3 PurposeOfUse codes come in (R4, STU3 and the OID). */
export const ACT_REASON_SYSTEMS: ReadonlySet<string> = new Set([
  System.actReason,
  "http://hl7.org/fhir/v3/ActReason",
  "urn:oid:2.16.840.1.113883.5.8",
]);

/**
 * consentaction codes read as each action; the first is the one written. `use` is read as
 * AGGREGATE (the narrower reading), `correct` as WRITE.
 */
export const ACTION_CODES: Readonly<Record<ActionName, readonly string[]>> = {
  READ: ["access"],
  AGGREGATE: ["use"],
  WRITE: ["collect", "correct"],
  SHARE: ["disclose"],
};

/**
 * Resource types (provision.class) and the categories that hold them in TwinLedger (every
 * modelled type has one; classify.ts assigns each record one of its type's bits).
 * Observation, DiagnosticReport and DocumentReference records fall in several categories:
 * a DocumentReference is a visit note (ENCOUNTERS) unless its type or category says it is a
 * laboratory (LABS) or imaging (IMAGING) report; there is no category of notes of its own.
 * FamilyMemberHistory is CONDITIONS: it is the problem list's neighbour in every summary (IPS
 * and C-CDA put family history next to problems), and it carries conditions, of relatives.
 */
export const RESOURCE_TYPE_CATEGORIES: Readonly<Record<string, number>> = {
  Patient: DataCategory.DEMOGRAPHICS,
  Condition: DataCategory.CONDITIONS,
  MedicationRequest: DataCategory.MEDICATIONS,
  MedicationStatement: DataCategory.MEDICATIONS,
  MedicationAdministration: DataCategory.MEDICATIONS,
  MedicationDispense: DataCategory.MEDICATIONS,
  AllergyIntolerance: DataCategory.ALLERGIES,
  Procedure: DataCategory.PROCEDURES,
  Immunization: DataCategory.PROCEDURES,
  Encounter: DataCategory.ENCOUNTERS,
  Observation: DataCategory.LABS | DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
  DiagnosticReport: DataCategory.LABS | DataCategory.IMAGING,
  ImagingStudy: DataCategory.IMAGING,
  MolecularSequence: DataCategory.GENOMICS,
  Medication: DataCategory.MEDICATIONS,
  FamilyMemberHistory: DataCategory.CONDITIONS,
  DocumentReference: DataCategory.ENCOUNTERS | DataCategory.LABS | DataCategory.IMAGING,
  Coverage: DataCategory.COVERAGE,
  Claim: DataCategory.COVERAGE,
  ExplanationOfBenefit: DataCategory.COVERAGE,
};

/** The resource types whose records make up each category (what a class must name to cover it). */
export const CATEGORY_RESOURCE_TYPES: Readonly<Record<DataCategoryName, readonly string[]>> = {
  DEMOGRAPHICS: ["Patient"],
  CONDITIONS: ["Condition", "FamilyMemberHistory"],
  MEDICATIONS: ["MedicationRequest", "MedicationStatement", "Medication"],
  ALLERGIES: ["AllergyIntolerance"],
  PROCEDURES: ["Procedure", "Immunization"],
  ENCOUNTERS: ["Encounter", "DocumentReference"],
  LABS: ["Observation", "DiagnosticReport", "DocumentReference"],
  VITALS: ["Observation"],
  WEARABLE_STREAMS: ["Observation"],
  IMAGING: ["DiagnosticReport", "ImagingStudy", "DocumentReference"],
  GENOMICS: ["MolecularSequence"],
  MENTAL_HEALTH: [],
  TWIN_MODEL: [],
  COVERAGE: ["Coverage", "Claim", "ExplanationOfBenefit"],
};

/**
 * Categories written as resource-type classes on export, next to TwinLedger's own category code
 * (only those a set of resource types names exactly; Observation would also mean LABS and VITALS).
 */
export const EXPORTED_CLASSES: Readonly<Partial<Record<DataCategoryName, readonly string[]>>> = {
  DEMOGRAPHICS: ["Patient"],
  CONDITIONS: ["Condition", "FamilyMemberHistory"],
  MEDICATIONS: ["MedicationRequest", "MedicationStatement", "Medication"],
  ALLERGIES: ["AllergyIntolerance"],
  PROCEDURES: ["Procedure", "Immunization"],
  // Not ENCOUNTERS: its visit notes are DocumentReferences, and that class also means LABS and IMAGING.
};

/** LOINC document-section codes read in provision.code. */
export const SECTION_CATEGORIES: Readonly<Record<string, number>> = {
  "11450-4": DataCategory.CONDITIONS, // Problem list
  "10157-6": DataCategory.CONDITIONS, // History of family member diseases
  "10160-0": DataCategory.MEDICATIONS, // History of medication use
  "48765-2": DataCategory.ALLERGIES, // Allergies and adverse reactions
  "47519-4": DataCategory.PROCEDURES, // History of procedures
  "11369-6": DataCategory.PROCEDURES, // History of immunization
  "46240-8": DataCategory.ENCOUNTERS, // History of encounters
  "30954-2": DataCategory.LABS, // Relevant diagnostic tests/laboratory data
  "8716-3": DataCategory.VITALS, // Vital signs
  "18748-4": DataCategory.IMAGING, // Diagnostic imaging study
  "51969-4": DataCategory.GENOMICS, // Genetic analysis report
};

/** The bit a TwinLedger code names in one of the tables (`VITALS` in `DataCategory`), if any. */
export function bitOfName(table: Readonly<Record<string, number>>, code: string | undefined): number | undefined {
  return code !== undefined && Object.prototype.hasOwnProperty.call(table, code) ? table[code] : undefined;
}
