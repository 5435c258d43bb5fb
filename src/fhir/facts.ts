import type { CheckedCoding } from "./check";

/**
 * What validation learns of a resource of a modelled type: the facts that classification, the
 * record and the readings are made from.
 */

export const MODELLED_TYPES = [
  "Patient",
  "Encounter",
  "Condition",
  "MedicationRequest",
  "MedicationStatement",
  "Procedure",
  "AllergyIntolerance",
  "Immunization",
  "Observation",
  "DiagnosticReport",
  "Medication",
  "FamilyMemberHistory",
  "DocumentReference",
  "Claim",
  "ExplanationOfBenefit",
  "Coverage",
] as const;
export type ModelledType = (typeof MODELLED_TYPES)[number];

export function isModelledType(type: string): type is ModelledType {
  return (MODELLED_TYPES as readonly string[]).includes(type);
}

export interface Concept {
  readonly codings: readonly CheckedCoding[];
  readonly text?: string;
}

export interface QuantityFacts {
  readonly value?: number;
  readonly unit?: string;
  readonly system?: string;
  readonly code?: string;
  /** Path of the Quantity, for error messages. */
  readonly path: string;
}

export interface ComponentFacts {
  readonly code: Concept;
  readonly quantity?: QuantityFacts;
  readonly path: string;
}

export interface ObservationFacts {
  /** Codes of Observation.category in the observation-category system (`vital-signs`, `laboratory`, ...). */
  readonly categories: readonly string[];
  readonly quantity?: QuantityFacts;
  readonly components: readonly ComponentFacts[];
  /** effectiveDateTime, effectiveInstant or effectivePeriod.start, else issued. */
  readonly time?: string;
  /** Observation.device.reference, else the gateway device extension's reference. */
  readonly device?: string;
  /** Whether a device produced it (device element or gateway extension). */
  readonly deviceSourced: boolean;
}

/** What classification needs to know of a validated modelled resource. */
export interface ResourceFacts {
  readonly resourceType: ModelledType;
  readonly status?: string;
  readonly effectiveAt?: string;
  /** The main code (Observation.code, Condition.code, vaccineCode, medication, Encounter.type[0]). */
  readonly main?: Concept;
  /** A display when the main concept is a reference (medicationReference.display). */
  readonly display?: string;
  /** Whether the resource was recorded in error and carries no twin data. */
  readonly enteredInError: boolean;
  /** DiagnosticReport.category codings as `system|code`. */
  readonly reportCategories?: readonly string[];
  readonly observation?: ObservationFacts;
  /** medicationReference.reference of a MedicationRequest/Statement, resolved to its Medication's code. */
  readonly medicationReference?: string;
  /** DocumentReference type and category codings as `system|code`. */
  readonly documentCodes?: readonly string[];
  /** Whether the main concept came from a fallback (allergy reaction.substance). */
  readonly mainFrom?: string;
}
