import { TwinLedgerError } from "../errors";
import { Prng, mixSeed } from "./prng";
import type { VitalSignName } from "./records";
import { fhirTimeStart, isFhirTemporal, isoSeconds } from "./time";

/**
 * The synthetic cohort's options and each patient's plan: who they are, what they live with and
 * when their alert-worthy episodes happen. Everything follows from the seed; no real person's
 * data is used (names are drawn from short lists and suffixed with digits, as Synthea does).
 */

export interface CohortOptions {
  /** Any integer; used modulo 2^32. */
  readonly seed: number;
  readonly patients: number;
  readonly days: number;
  /**
   * The finest reading interval, 60 to 3600 s: heart rate comes every max(60 s, interval), SpO2
   * and CGM glucose every max(300 s, interval), steps every max(900 s, interval), each rounded up
   * to a multiple of the interval.
   */
  readonly intervalSeconds: number;
  /** Start of the wearable stream, midnight UTC; 2024-01-01T00:00:00Z unless given. */
  readonly start?: string;
}

export type ResolvedCohortOptions = Required<CohortOptions>;

export const DEFAULT_COHORT_START = "2024-01-01T00:00:00Z";

export type ConditionName = "hypertension" | "diabetes" | "copd" | "sleepApnea" | "atrialFibrillation" | "asthma";

export interface CohortEpisode {
  /** `desaturation`: SpO2 below 92 %; `tachycardia`: heart rate above 120 /min, sustained. */
  readonly kind: "desaturation" | "tachycardia";
  readonly sign: VitalSignName;
  /** First reading of the episode (instant). */
  readonly start: string;
  /** First instant after it. */
  readonly end: string;
}

export interface PatientPlan {
  readonly index: number;
  readonly patientId: string;
  readonly deviceId: string;
  readonly sex: "male" | "female";
  readonly birthDate: string;
  readonly given: string;
  readonly family: string;
  readonly conditions: readonly ConditionName[];
  /** Resting heart rate, /min. */
  readonly restingHeartRate: number;
  /** Body weight, kg, and height, cm. */
  readonly weight: number;
  readonly height: number;
  /** How active the patient is (0.5 to 1.3). */
  readonly activity: number;
  readonly episodes: readonly CohortEpisode[];
}

/** Cadence of each wearable stream: the nominal period, coarsened to a multiple of the interval. */
export function cadence(nominalSeconds: number, intervalSeconds: number): number {
  return Math.ceil(Math.max(nominalSeconds, intervalSeconds) / intervalSeconds) * intervalSeconds;
}

export const NOMINAL_PERIOD = { heartRate: 60, oxygenSaturation: 300, steps: 900, glucose: 300 } as const;

export function resolveCohortOptions(options: CohortOptions): ResolvedCohortOptions {
  const bad = (what: string): never => {
    throw new TwinLedgerError("INVALID_COHORT_OPTIONS", what);
  };
  if (!Number.isInteger(options.seed)) bad("seed must be an integer");
  if (!Number.isInteger(options.patients) || options.patients < 1) bad("patients must be a positive integer");
  if (!Number.isInteger(options.days) || options.days < 1) bad("days must be a positive integer");
  if (!Number.isInteger(options.intervalSeconds) || options.intervalSeconds < 60 || options.intervalSeconds > 3600) {
    bad("intervalSeconds must be an integer from 60 to 3600");
  }
  const start = options.start ?? DEFAULT_COHORT_START;
  if (!isFhirTemporal(start, "instant") || fhirTimeStart(start) % 86_400_000 !== 0) {
    bad("start must be an instant at midnight UTC, e.g. 2024-01-01T00:00:00Z");
  }
  return {
    seed: options.seed >>> 0,
    patients: options.patients,
    days: options.days,
    intervalSeconds: options.intervalSeconds,
    start: isoSeconds(fhirTimeStart(start)),
  };
}

/** Independent random streams per patient, so a patient's data does not depend on the others. */
export function patientRng(options: ResolvedCohortOptions, index: number, stream: "plan" | "emr" | "wearable"): Prng {
  const salt = stream === "plan" ? 1 : stream === "emr" ? 2 : 3;
  return new Prng(mixSeed(mixSeed(options.seed, index + 1), salt));
}

const GIVEN = {
  female: ["Ava", "Mila", "Noor", "Sofia", "Hana", "Lena", "Maya", "Zara"],
  male: ["Leo", "Omar", "Ravi", "Theo", "Kenji", "Luca", "Amir", "Jonas"],
} as const;
const FAMILY = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Silva", "Kowalski"];

const CONDITION_PREVALENCE: readonly (readonly [ConditionName, number])[] = [
  ["hypertension", 0.35],
  ["diabetes", 0.25],
  ["copd", 0.12],
  ["asthma", 0.1],
  ["sleepApnea", 0.12],
  ["atrialFibrillation", 0.08],
];

/**
 * Who patient `index` is. Episodes: every third patient (index 0, 3, ...) has none, the next has
 * both a night-time desaturation (with sleep apnea) and an afternoon tachycardia (with atrial
 * fibrillation), the next one of the two at random. Each episode lasts at least three readings.
 */
export function planPatient(options: ResolvedCohortOptions, index: number): PatientPlan {
  const rng = patientRng(options, index, "plan");
  const patientId = rng.uuid();
  const deviceId = rng.uuid();
  const sex = rng.chance(0.5) ? "female" : "male";
  const startMs = fhirTimeStart(options.start);
  const startYear = new Date(startMs).getUTCFullYear();
  const birthYear = startYear - rng.int(25, 85);
  const birthDate = `${birthYear}-${String(rng.int(1, 12)).padStart(2, "0")}-${String(rng.int(1, 28)).padStart(2, "0")}`;
  const given = `${rng.pick(GIVEN[sex])}${rng.int(10, 999)}`;
  const family = `${rng.pick(FAMILY)}${rng.int(10, 999)}`;
  const conditions = new Set<ConditionName>(CONDITION_PREVALENCE.filter(([, p]) => rng.chance(p)).map(([n]) => n));

  const kinds: CohortEpisode["kind"][] =
    index % 3 === 0
      ? []
      : index % 3 === 1
        ? ["desaturation", "tachycardia"]
        : [rng.chance(0.5) ? "desaturation" : "tachycardia"];
  const episodes = kinds.map((kind) => {
    if (kind === "desaturation") conditions.add("sleepApnea");
    else conditions.add("atrialFibrillation");
    return planEpisode(options, rng, kind, startMs);
  });
  const height = Math.round((sex === "female" ? 163 : 177) + rng.normal() * 6);
  const bmi = 21 + rng.next() * 10 + (conditions.has("diabetes") ? 3 : 0);
  return {
    index,
    patientId,
    deviceId,
    sex,
    birthDate,
    given,
    family,
    conditions: [...conditions].sort(),
    restingHeartRate: rng.int(56, 78),
    weight: Math.round(bmi * (height / 100) * (height / 100) * 10) / 10,
    height,
    activity: 0.5 + rng.next() * 0.8,
    episodes,
  };
}

function planEpisode(
  options: ResolvedCohortOptions,
  rng: Prng,
  kind: CohortEpisode["kind"],
  startMs: number,
): CohortEpisode {
  const sign: VitalSignName = kind === "desaturation" ? "oxygenSaturation" : "heartRate";
  const nominal = kind === "desaturation" ? NOMINAL_PERIOD.oxygenSaturation : NOMINAL_PERIOD.heartRate;
  const period = cadence(nominal, options.intervalSeconds);
  const day = rng.int(0, options.days - 1);
  // Night (02:00-04:00 UTC) for desaturation, afternoon (14:00-17:00) for tachycardia.
  const windowStart = kind === "desaturation" ? 2 * 3600 : 14 * 3600;
  const windowLength = kind === "desaturation" ? 2 * 3600 : 3 * 3600;
  const offset = day * 86400 + windowStart + rng.int(0, windowLength);
  const aligned = Math.ceil(offset / period) * period;
  const minutes = kind === "desaturation" ? rng.int(20, 45) : rng.int(15, 40);
  const duration = Math.ceil(Math.max(minutes * 60, 3 * period) / period) * period;
  return {
    kind,
    sign,
    start: isoSeconds(startMs + aligned * 1000),
    end: isoSeconds(startMs + (aligned + duration) * 1000),
  };
}
