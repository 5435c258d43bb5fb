import type { Checker, Json } from "./check";
import type { ModelledType, ResourceFacts } from "./facts";
import {
  checkAllergy,
  checkCondition,
  checkEncounter,
  checkImmunization,
  checkMedication,
  checkPatient,
  checkProcedure,
} from "./validate-clinical";
import {
  checkClaim,
  checkCoverage,
  checkDocumentReference,
  checkExplanationOfBenefit,
  checkFamilyMemberHistory,
  checkMedicationResource,
} from "./validate-more";
import { checkDiagnosticReport, checkObservation } from "./validate-results";

/**
 * Structural validation of single resources: every resource gets checkCommon (known type, id,
 * meta, well-formed references); resources of the types the twin models also get their required
 * elements and the types of the values ingest reads checked, which returns their facts.
 */

export { checkCommon } from "./validate-common";
export { MODELLED_TYPES, isModelledType, type ModelledType, type ResourceFacts } from "./facts";

/** Validates a resource of a modelled type and returns its facts. */
export function checkModelled(type: ModelledType, o: Json, c: Checker, base: string): ResourceFacts {
  switch (type) {
    case "Patient":
      return checkPatient(o, c, base);
    case "Encounter":
      return checkEncounter(o, c, base);
    case "Condition":
      return checkCondition(o, c, base);
    case "MedicationRequest":
    case "MedicationStatement":
      return checkMedication(type, o, c, base);
    case "Procedure":
      return checkProcedure(o, c, base);
    case "AllergyIntolerance":
      return checkAllergy(o, c, base);
    case "Immunization":
      return checkImmunization(o, c, base);
    case "Observation":
      return checkObservation(o, c, base);
    case "DiagnosticReport":
      return checkDiagnosticReport(o, c, base);
    case "Medication":
      return checkMedicationResource(o, c, base);
    case "FamilyMemberHistory":
      return checkFamilyMemberHistory(o, c, base);
    case "DocumentReference":
      return checkDocumentReference(o, c, base);
    case "Claim":
      return checkClaim(o, c, base);
    case "ExplanationOfBenefit":
      return checkExplanationOfBenefit(o, c, base);
    case "Coverage":
      return checkCoverage(o, c, base);
  }
}
