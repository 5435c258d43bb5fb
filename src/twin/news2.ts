import { HOUR_MS } from "./config";
import { TwinEngineError } from "./errors";
import { firstAfter } from "./readings";
import type { TwinVersion } from "./types";

/**
 * NEWS2, the Royal College of Physicians' National Early Warning Score 2 (RCP, December 2017,
 * "National Early Warning Score (NEWS) 2: Standardising the assessment of acute-illness
 * severity in the NHS", chart 1 and table 1), from seven parameters:
 *
 * | parameter            | 3        | 2        | 1         | 0                     | 1               | 2          | 3           |
 * | -------------------- | -------- | -------- | --------- | --------------------- | --------------- | ---------- | ----------- |
 * | respiration /min     | ≤ 8      |          | 9–11      | 12–20                 |                 | 21–24      | ≥ 25        |
 * | SpO2 scale 1 %       | ≤ 91     | 92–93    | 94–95     | ≥ 96                  |                 |            |             |
 * | SpO2 scale 2 %       | ≤ 83     | 84–85    | 86–87     | 88–92, ≥ 93 on air    | 93–94 on oxygen | 95–96 on O2 | ≥ 97 on O2 |
 * | air or oxygen        |          | oxygen   |           | air                   |                 |            |             |
 * | systolic BP mmHg     | ≤ 90     | 91–100   | 101–110   | 111–219               |                 |            | ≥ 220       |
 * | pulse /min           | ≤ 40     |          | 41–50     | 51–90                 | 91–110          | 111–130    | ≥ 131       |
 * | consciousness        |          |          |           | alert                 |                 |            | C, V, P, U  |
 * | temperature °C       | ≤ 35.0   |          | 35.1–36.0 | 36.1–38.0             | 38.1–39.0       | ≥ 39.1     |             |
 *
 * Clinical response (table 1): aggregate 0–4 `low` (ward-based response); a score of 3 in any
 * single parameter (a "red score") with an aggregate of 0–4 `low-medium` (urgent ward-based
 * response); 5–6 `medium` (key threshold for urgent response); 7 or more `high` (urgent or
 * emergency response).
 *
 * Values are charted as the chart records them before scoring: respiration, SpO2, systolic
 * pressure and pulse rounded to whole numbers (half up), temperature to one decimal place; so
 * 90.4 /min is 90 (score 0) and 38.04 °C is 38.0 (score 0). SpO2 scale 2 is for patients with
 * hypercapnic respiratory failure whose prescribed target is 88–92 %, and only a clinician
 * chooses it. A missing parameter makes the score `incomplete` (with what is missing): it is
 * never counted as zero.
 */

export type Consciousness = "alert" | "new-confusion" | "voice" | "pain" | "unresponsive";
export type News2Parameter =
  | "respirationRate"
  | "oxygenSaturation"
  | "supplementalOxygen"
  | "systolicBloodPressure"
  | "pulse"
  | "consciousness"
  | "temperature";
export type News2Band = "low" | "low-medium" | "medium" | "high";
export type News2Points = 0 | 1 | 2 | 3;

export const NEWS2_PARAMETERS: readonly News2Parameter[] = Object.freeze([
  "respirationRate",
  "oxygenSaturation",
  "supplementalOxygen",
  "systolicBloodPressure",
  "pulse",
  "consciousness",
  "temperature",
]);

/** The clinical response of each band (RCP table 1). */
export const NEWS2_RESPONSE: Readonly<Record<News2Band, string>> = Object.freeze({
  low: "ward-based response",
  "low-medium": "urgent ward-based response",
  medium: "key threshold for urgent response",
  high: "urgent or emergency response",
});

/** One observation set; any parameter may be missing. */
export interface News2Inputs {
  /** Breaths per minute. */
  readonly respirationRate?: number;
  /** SpO2 in %. */
  readonly oxygenSaturation?: number;
  /** True when the patient breathes supplemental oxygen, false on room air. */
  readonly supplementalOxygen?: boolean;
  readonly systolicBloodPressure?: number;
  /** Beats per minute. */
  readonly pulse?: number;
  /** ACVPU: alert, or new confusion, voice, pain, unresponsive. */
  readonly consciousness?: Consciousness;
  /** °C. */
  readonly temperature?: number;
  /** 1 (default) or 2 (hypercapnic respiratory failure, target 88–92 %, chosen by a clinician). */
  readonly spo2Scale?: 1 | 2;
}

export interface News2Item {
  readonly parameter: News2Parameter;
  /** The value as charted (rounded as above). */
  readonly value: number | boolean | Consciousness;
  readonly points: News2Points;
  /** When it was measured (epoch ms), when it came from the twin. */
  readonly at?: number;
}

export interface News2Complete {
  readonly status: "complete";
  readonly score: number;
  readonly band: News2Band;
  readonly response: string;
  /** Whether any single parameter scored 3. */
  readonly redScore: boolean;
  readonly spo2Scale: 1 | 2;
  readonly items: readonly News2Item[];
}

export interface News2Incomplete {
  readonly status: "incomplete";
  /** The parameters that are missing (or too old): no score is given without them. */
  readonly missing: readonly News2Parameter[];
  readonly spo2Scale: 1 | 2;
  /** The parameters that were there, scored. */
  readonly items: readonly News2Item[];
}

export type News2Result = News2Complete | News2Incomplete;

/** Points of a value in ascending bands: `bands[i] = [upper bound (inclusive), points]`, the last open. */
function banded(value: number, bands: readonly (readonly [number, News2Points])[], open: News2Points): News2Points {
  for (const [upper, points] of bands) if (value <= upper) return points;
  return open;
}

const RESPIRATION = [
  [8, 3],
  [11, 1],
  [20, 0],
  [24, 2],
] as const;
const SPO2_SCALE_1 = [
  [91, 3],
  [93, 2],
  [95, 1],
] as const;
const SPO2_SCALE_2_LOW = [
  [83, 3],
  [85, 2],
  [87, 1],
  [92, 0],
] as const;
const SPO2_SCALE_2_ON_OXYGEN = [
  [94, 1],
  [96, 2],
] as const;
const SYSTOLIC = [
  [90, 3],
  [100, 2],
  [110, 1],
  [219, 0],
] as const;
const PULSE = [
  [40, 3],
  [50, 1],
  [90, 0],
  [110, 1],
  [130, 2],
] as const;
const TEMPERATURE = [
  [35.0, 3],
  [36.0, 1],
  [38.0, 0],
  [39.0, 1],
] as const;

const whole = (value: number): number => Math.floor(value + 0.5);
const tenth = (value: number): number => Number(value.toFixed(1));

/** The points of one parameter's charted value. */
export function news2Points(
  parameter: News2Parameter,
  value: number | boolean | Consciousness,
  context: { readonly spo2Scale?: 1 | 2; readonly supplementalOxygen?: boolean } = {},
): News2Points {
  switch (parameter) {
    case "respirationRate":
      return banded(value as number, RESPIRATION, 3);
    case "oxygenSaturation":
      if ((context.spo2Scale ?? 1) === 1) return banded(value as number, SPO2_SCALE_1, 0);
      if ((value as number) <= 92 || context.supplementalOxygen !== true)
        return banded(value as number, SPO2_SCALE_2_LOW, 0);
      return banded(value as number, SPO2_SCALE_2_ON_OXYGEN, 3);
    case "supplementalOxygen":
      return value === true ? 2 : 0;
    case "systolicBloodPressure":
      return banded(value as number, SYSTOLIC, 3);
    case "pulse":
      return banded(value as number, PULSE, 3);
    case "consciousness":
      return value === "alert" ? 0 : 3;
    case "temperature":
      return banded(value as number, TEMPERATURE, 2);
  }
}

const CONSCIOUSNESS: readonly Consciousness[] = ["alert", "new-confusion", "voice", "pain", "unresponsive"];

function charted(parameter: News2Parameter, value: unknown): number | boolean | Consciousness {
  const bad = (what: string): never => {
    throw new TwinEngineError("TWIN_INVALID_QUERY", `NEWS2 ${parameter} must be ${what}`);
  };
  switch (parameter) {
    case "supplementalOxygen":
      return typeof value === "boolean" ? value : bad("true or false");
    case "consciousness":
      return CONSCIOUSNESS.includes(value as Consciousness) ? (value as Consciousness) : bad("an ACVPU level");
    case "temperature":
      return typeof value === "number" && Number.isFinite(value) && value > 0 ? tenth(value) : bad("a positive number");
    default:
      return typeof value === "number" && Number.isFinite(value) && value >= 0 ? whole(value) : bad("a number ≥ 0");
  }
}

/** The band of a complete score. */
export function news2Band(score: number, redScore: boolean): News2Band {
  if (score >= 7) return "high";
  if (score >= 5) return "medium";
  return redScore ? "low-medium" : "low";
}

/** NEWS2 of one observation set (see the table above); `times` says when each value was measured. */
export function news2Score(inputs: News2Inputs, times: Partial<Record<News2Parameter, number>> = {}): News2Result {
  const spo2Scale = inputs.spo2Scale ?? 1;
  if (spo2Scale !== 1 && spo2Scale !== 2)
    throw new TwinEngineError("TWIN_INVALID_QUERY", "NEWS2 spo2Scale must be 1 or 2");
  const items: News2Item[] = [];
  const missing: News2Parameter[] = [];
  for (const parameter of NEWS2_PARAMETERS) {
    const raw = inputs[parameter];
    if (raw === undefined) {
      missing.push(parameter);
      continue;
    }
    const value = charted(parameter, raw);
    const points = news2Points(parameter, value, { spo2Scale, supplementalOxygen: inputs.supplementalOxygen });
    const at = times[parameter];
    items.push(at === undefined ? { parameter, value, points } : { parameter, value, points, at });
  }
  // SpO2 on scale 2 scores by the oxygen it is breathed on: without it, it cannot be scored either.
  if (missing.length > 0) return { status: "incomplete", missing, spo2Scale, items };
  const score = items.reduce((sum, item) => sum + item.points, 0);
  const redScore = items.some((item) => item.points === 3);
  const band = news2Band(score, redScore);
  return { status: "complete", score, band, response: NEWS2_RESPONSE[band], redScore, spo2Scale, items };
}

/** What the twin does not measure, and how old a measured value may be. */
export interface EarlyWarningOptions {
  /** Whether the patient is on supplemental oxygen now (not a vital sign the twin holds). */
  readonly supplementalOxygen?: boolean;
  /** ACVPU now (not a vital sign the twin holds). */
  readonly consciousness?: Consciousness;
  readonly spo2Scale?: 1 | 2;
  /** The time the score is for (epoch ms); the twin's `asOf` unless given. */
  readonly at?: number;
  /**
   * A vital older than this before `at` counts as missing (a score mixes no stale values);
   * 12 hours by default, NEWS2's longest routine interval between observation sets.
   */
  readonly maxAgeMs?: number;
}

type News2Sign = "respiratoryRate" | "oxygenSaturation" | "systolic" | "heartRate" | "bodyTemperature";

/** The sign's latest reading at or before `at` (the model's latest when `at` is its `asOf` or later). */
function latestAt(version: TwinVersion, sign: News2Sign, at: number): { at: number; value: number } | undefined {
  const latest = version.model.vitals[sign]?.latest;
  if (latest === undefined || latest.at <= at) return latest;
  const series = version.readings[sign] ?? [];
  const i = firstAfter(series, at) - 1;
  return i >= 0 ? series[i] : undefined;
}

/** The NEWS2 of a twin version from its latest vitals and what the caller says of oxygen and consciousness. */
export function earlyWarning(version: TwinVersion, options: EarlyWarningOptions = {}): News2Result {
  const at = options.at ?? version.model.asOf ?? undefined;
  const maxAgeMs = options.maxAgeMs ?? 12 * HOUR_MS;
  if (!(maxAgeMs > 0)) throw new TwinEngineError("TWIN_INVALID_QUERY", "maxAgeMs must be positive");
  const times: Partial<Record<News2Parameter, number>> = {};
  const latest = (sign: News2Sign, parameter: News2Parameter): number | undefined => {
    const reading = at === undefined ? undefined : latestAt(version, sign, at);
    if (reading === undefined || reading.at < (at as number) - maxAgeMs) return undefined;
    times[parameter] = reading.at;
    return reading.value;
  };
  return news2Score(
    {
      respirationRate: latest("respiratoryRate", "respirationRate"),
      oxygenSaturation: latest("oxygenSaturation", "oxygenSaturation"),
      supplementalOxygen: options.supplementalOxygen,
      systolicBloodPressure: latest("systolic", "systolicBloodPressure"),
      pulse: latest("heartRate", "pulse"),
      consciousness: options.consciousness,
      temperature: latest("bodyTemperature", "temperature"),
      spo2Scale: options.spo2Scale,
    },
    times,
  );
}
