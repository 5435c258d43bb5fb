import { DataCategory, type DataCategoryBit } from "../vocabulary";
import {
  IMAGING_DOCUMENT_CODES,
  IMAGING_REPORT_CATEGORIES,
  LAB_DOCUMENT_CODES,
  System,
  vitalSignOfLoinc,
  vitalSignOfMdc,
} from "./codes";
import { displayOf } from "./names";
import type { RecordKind, VitalSignName } from "./records";
import type { Concept, ResourceFacts } from "./facts";

/** Where a resource came from: a hospital system (EMR) or a personal device or app (PHR). */
export type Origin = "emr" | "phr";

export type Classification =
  | { readonly kind: RecordKind; readonly category: DataCategoryBit }
  /** Not twin data; counted in `skipped` under this label. */
  | { readonly skip: string };

/**
 * The record kind and consent category of a validated resource, or the label it is skipped under.
 *
 * Observations, in this order:
 * - `cancelled` or `entered-in-error`: skipped as `Observation(cancelled)` / `Observation(entered-in-error)`;
 * - from PHR ingest: WEARABLE_STREAMS;
 * - category `laboratory`: LABS;
 * - device-sourced (Observation.device or the gateway-device extension): WEARABLE_STREAMS;
 * - category `vital-signs`: VITALS;
 * - uncategorized but coded as a followed vital sign: VITALS (glucose: LABS);
 * - anything else (survey, social-history, exam, ...): skipped as `Observation(<category>)`.
 *
 * DiagnosticReports are LABS, except radiology/imaging sections (v2-0074 RAD, CT, ..., LOINC
 * LP29684-5), which are IMAGING. Medication (the product referenced by prescriptions) is
 * MEDICATIONS, FamilyMemberHistory CONDITIONS, Claim, ExplanationOfBenefit and Coverage COVERAGE;
 * a DocumentReference is IMAGING or LABS when its type or category says so, else ENCOUNTERS (a
 * visit note). Any modelled resource recorded in error is skipped as
 * `<Type>(entered-in-error)`, a cancelled report as `DiagnosticReport(cancelled)`.
 */
export function classify(facts: ResourceFacts, origin: Origin): Classification {
  if (facts.enteredInError) return { skip: `${facts.resourceType}(entered-in-error)` };
  switch (facts.resourceType) {
    case "Patient":
      return { kind: "demographics", category: DataCategory.DEMOGRAPHICS };
    case "Condition":
      return { kind: "condition", category: DataCategory.CONDITIONS };
    case "MedicationRequest":
    case "MedicationStatement":
      return { kind: "medication", category: DataCategory.MEDICATIONS };
    case "AllergyIntolerance":
      return { kind: "allergy", category: DataCategory.ALLERGIES };
    case "Procedure":
      return { kind: "procedure", category: DataCategory.PROCEDURES };
    case "Immunization":
      return { kind: "immunization", category: DataCategory.PROCEDURES };
    case "Encounter":
      return { kind: "encounter", category: DataCategory.ENCOUNTERS };
    case "DiagnosticReport":
      if (facts.status === "cancelled") return { skip: "DiagnosticReport(cancelled)" };
      return (facts.reportCategories ?? []).some((c) => IMAGING_REPORT_CATEGORIES.has(c))
        ? { kind: "diagnostic-report", category: DataCategory.IMAGING }
        : { kind: "diagnostic-report", category: DataCategory.LABS };
    case "Observation":
      return classifyObservation(facts, origin);
    case "Medication":
      return { kind: "medication-product", category: DataCategory.MEDICATIONS };
    case "FamilyMemberHistory":
      return { kind: "family-history", category: DataCategory.CONDITIONS };
    case "DocumentReference": {
      const codes = facts.documentCodes ?? [];
      if (codes.some((c) => IMAGING_DOCUMENT_CODES.has(c))) return { kind: "document", category: DataCategory.IMAGING };
      if (codes.some((c) => LAB_DOCUMENT_CODES.has(c))) return { kind: "document", category: DataCategory.LABS };
      return { kind: "document", category: DataCategory.ENCOUNTERS };
    }
    case "Claim":
    case "ExplanationOfBenefit":
      return { kind: "claim", category: DataCategory.COVERAGE };
    case "Coverage":
      return { kind: "coverage", category: DataCategory.COVERAGE };
  }
}

function classifyObservation(facts: ResourceFacts, origin: Origin): Classification {
  const obs = facts.observation!;
  if (facts.status === "cancelled") return { skip: "Observation(cancelled)" };
  if (origin === "phr") return { kind: "vital", category: DataCategory.WEARABLE_STREAMS };
  if (obs.categories.includes("laboratory")) return { kind: "lab", category: DataCategory.LABS };
  if (obs.deviceSourced) return { kind: "vital", category: DataCategory.WEARABLE_STREAMS };
  if (obs.categories.includes("vital-signs")) return { kind: "vital", category: DataCategory.VITALS };
  const sign = signOf(facts.main);
  if (sign === "glucose") return { kind: "lab", category: DataCategory.LABS };
  if (sign !== undefined) return { kind: "vital", category: DataCategory.VITALS };
  return { skip: `Observation(${obs.categories[0] ?? "uncategorized"})` };
}

/** The followed vital sign a concept is coded as (its first LOINC coding that is one, else MDC). */
export function signOf(concept: Concept | undefined): VitalSignName | undefined {
  for (const coding of concept?.codings ?? []) {
    if (coding.system !== System.loinc || coding.code === undefined) continue;
    const sign = vitalSignOfLoinc(coding.code);
    if (sign !== undefined) return sign;
  }
  for (const coding of concept?.codings ?? []) {
    if (coding.system !== System.mdc || coding.code === undefined) continue;
    const sign = vitalSignOfMdc(coding.code);
    if (sign !== undefined) return sign;
  }
  return undefined;
}

/**
 * The record's main code as `system|code`, LOINC first for observations and reports, and its
 * display (see names.ts). A code whose system is unknown (a Coding without `system`) is written
 * `|code`, the FHIR token form for "no system", and only chosen when no coding has a system.
 */
export function mainCode(
  facts: ResourceFacts,
  main: Concept | undefined = facts.main,
): { code?: string; display?: string } {
  const codings = main?.codings ?? [];
  const preferLoinc = facts.resourceType === "Observation" || facts.resourceType === "DiagnosticReport";
  const withSystem = codings.filter((c) => c.system !== undefined && c.code !== undefined);
  const chosen =
    (preferLoinc ? withSystem.find((c) => c.system === System.loinc) : undefined) ??
    withSystem[0] ??
    codings.find((c) => c.code !== undefined);
  return {
    code: chosen ? `${chosen.system ?? ""}|${chosen.code}` : undefined,
    display: displayOf(main, chosen, facts.display),
  };
}
