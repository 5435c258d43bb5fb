import type { Bundle } from "@medplum/fhirtypes";
import { TwinLedgerError } from "../errors";
import { emrBundle } from "./cohort-emr";
import {
  planPatient,
  resolveCohortOptions,
  type CohortEpisode,
  type CohortOptions,
  type ConditionName,
  type ResolvedCohortOptions,
} from "./cohort-plan";
import { wearableBundle } from "./cohort-wearable";
import { prettyJson } from "./json-text";

/**
 * The seeded synthetic cohort: for each patient an EMR Bundle and a wearable stream Bundle, with
 * the planned episodes as ground truth for alert tests. A pure function of its options.
 */

export const COHORT_FORMAT = "twinledger-cohort/1";

export interface CohortPatient {
  readonly patientId: string;
  readonly deviceId: string;
  readonly conditions: readonly ConditionName[];
  /** When the alert-worthy episodes happen (SpO2 < 92 %, heart rate > 120 /min). */
  readonly episodes: readonly CohortEpisode[];
  readonly emr: Bundle;
  readonly wearable: Bundle;
}

export interface Cohort {
  readonly format: typeof COHORT_FORMAT;
  readonly options: ResolvedCohortOptions;
  readonly patients: readonly CohortPatient[];
}

/** Generates the whole cohort in memory (use {@link cohortPatient} or {@link cohortPatients} for large ones). */
export function generateCohort(options: CohortOptions): Cohort {
  const resolved = resolveCohortOptions(options);
  const patients = Array.from({ length: resolved.patients }, (_, index) => cohortPatient(resolved, index));
  return { format: COHORT_FORMAT, options: resolved, patients };
}

/**
 * Patient `index` of the cohort of these options, alone: the same patient `generateCohort` gives at that index (each
 * patient has its own random streams), without generating the others. Throws `INVALID_COHORT_OPTIONS` for an index
 * outside the cohort.
 */
export function cohortPatient(options: ResolvedCohortOptions, index: number): CohortPatient {
  if (!Number.isInteger(index) || index < 0 || index >= options.patients) {
    throw new TwinLedgerError(
      "INVALID_COHORT_OPTIONS",
      `patient index must be an integer from 0 to ${options.patients - 1}`,
    );
  }
  const plan = planPatient(options, index);
  return {
    patientId: plan.patientId,
    deviceId: plan.deviceId,
    conditions: plan.conditions,
    episodes: plan.episodes,
    emr: emrBundle(options, plan),
    wearable: wearableBundle(options, plan),
  };
}

/** The cohort's patients one at a time, in order, each generated when asked for: memory holds one patient, not all. */
export function* cohortPatients(options: CohortOptions): Generator<CohortPatient> {
  const resolved = resolveCohortOptions(options);
  for (let index = 0; index < resolved.patients; index++) yield cohortPatient(resolved, index);
}

/** The cohort as the JSON text the fixture holds: laid out as Prettier would (width 120), with a final newline. */
export function cohortToJson(cohort: Cohort): string {
  return prettyJson(cohort);
}

export { planPatient, resolveCohortOptions, type CohortEpisode, type CohortOptions, type ResolvedCohortOptions };
export { emrBundle } from "./cohort-emr";
export { wearableBundle, wearableDevice, wearableObservations } from "./cohort-wearable";
export type { ConditionName, PatientPlan } from "./cohort-plan";
