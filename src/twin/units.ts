import { VitalSign, type VitalReading, type VitalSignName } from "../fhir/records";
import { ALL_CATEGORIES } from "../vocabulary";
import { TwinEngineError } from "./errors";

/** A conversion into the canonical unit. */
type Conversion = (value: number) => number;

const identity: Conversion = (value) => value;
const scale =
  (factor: number): Conversion =>
  (value) =>
    value * factor;

export interface UnitTable {
  /** The UCUM unit every stored value, statistic and threshold of this sign is expressed in. */
  readonly canonical: string;
  /** Accepted units (the canonical one included) and how to convert them. */
  readonly accepts: Readonly<Record<string, Conversion>>;
}

/** mg/dL per mmol/L of glucose (molar mass 180.16 g/mol). */
const GLUCOSE_MG_DL_PER_MMOL_L = 18.016;
const MM_HG_PER_KPA = 7.500_62;

const PER_MINUTE = { "/min": identity, "1/min": identity };
const PRESSURE = { "mm[Hg]": identity, mmHg: identity, kPa: scale(MM_HG_PER_KPA) };

/**
 * Units per sign, the same canonical units src/fhir ingest emits (so its readings pass as they
 * are); the other UCUM units are accepted for readings from elsewhere. Values in another accepted unit are converted on the way in and rounded to
 * six decimal places, so that thresholds (all stated in the canonical unit) apply to them.
 */
export const UNITS: Readonly<Record<VitalSignName, UnitTable>> = {
  heartRate: { canonical: "/min", accepts: { ...PER_MINUTE, "{beats}/min": identity, "{beat}/min": identity } },
  oxygenSaturation: { canonical: "%", accepts: { "%": identity, "1": scale(100) } },
  steps: {
    canonical: "{steps}",
    accepts: { "{steps}": identity, "{step}": identity, "{count}": identity, "1": identity, "/d": identity },
  },
  bloodPressure: { canonical: "mm[Hg]", accepts: PRESSURE },
  systolic: { canonical: "mm[Hg]", accepts: PRESSURE },
  diastolic: { canonical: "mm[Hg]", accepts: PRESSURE },
  bodyTemperature: {
    canonical: "Cel",
    accepts: { Cel: identity, "[degF]": (f) => ((f - 32) * 5) / 9, K: (k) => k - 273.15 },
  },
  glucose: {
    canonical: "mg/dL",
    accepts: { "mg/dL": identity, "mmol/L": scale(GLUCOSE_MG_DL_PER_MMOL_L), "g/L": scale(100) },
  },
  respiratoryRate: {
    canonical: "/min",
    accepts: { ...PER_MINUTE, "{breaths}/min": identity, "{breath}/min": identity },
  },
  bodyWeight: {
    canonical: "kg",
    accepts: { kg: identity, g: scale(0.001), "[lb_av]": scale(0.453_592_37), "[oz_av]": scale(0.028_349_523_125) },
  },
  bodyHeight: {
    canonical: "cm",
    accepts: { cm: identity, m: scale(100), mm: scale(0.1), "[in_i]": scale(2.54), "[ft_i]": scale(30.48) },
  },
  bmi: { canonical: "kg/m2", accepts: { "kg/m2": identity } },
  headCircumference: {
    canonical: "cm",
    accepts: { cm: identity, m: scale(100), mm: scale(0.1), "[in_i]": scale(2.54) },
  },
};

/** The canonical unit of a sign. */
export function canonicalUnit(sign: VitalSignName): string {
  return UNITS[sign].canonical;
}

/** Readings at or beyond this magnitude are rejected. */
const MAX_VALUE = 1e15;

/** The units a sign's readings may come in (the canonical one first). */
export function acceptedUnits(sign: VitalSignName): readonly string[] {
  const table = UNITS[sign];
  return [table.canonical, ...Object.keys(table.accepts).filter((unit) => unit !== table.canonical)];
}

function isCategoryBit(value: unknown): boolean {
  return (
    typeof value === "number" &&
    Number.isSafeInteger(value) &&
    value > 0 &&
    (value & (value - 1)) === 0 &&
    (value & ALL_CATEGORIES) === value
  );
}

/** True when `name` is one of the signs the twin follows. */
export function isVitalSign(name: unknown): name is VitalSignName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(VitalSign, name);
}

/**
 * Validate one reading and express it in its sign's canonical unit. Returns a new frozen
 * reading, keeping ingest's `category` and `recordKey`; an empty `source` or `recordKey` is
 * dropped. `index` only serves the error message. Values must be finite and below 1e15 in
 * magnitude, so that every statistic stays within the canonical number range.
 */
export function normalizeReading(reading: VitalReading, index: number): VitalReading {
  if (reading === null || typeof reading !== "object") {
    throw new TwinEngineError("TWIN_INVALID_READING", `reading ${index} is not an object`);
  }
  const { sign, value, unit, at, source, category, recordKey } = reading;
  if (!isVitalSign(sign)) {
    throw new TwinEngineError("TWIN_INVALID_READING", `reading ${index} has an unknown sign`);
  }
  if (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) >= MAX_VALUE) {
    throw new TwinEngineError(
      "TWIN_INVALID_READING",
      `reading ${index} (${sign}): value is not a finite number below 1e15 in magnitude`,
    );
  }
  if (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0) {
    throw new TwinEngineError(
      "TWIN_INVALID_READING",
      `reading ${index} (${sign}): time is not a non-negative integer of milliseconds`,
    );
  }
  if (source !== undefined && typeof source !== "string") {
    throw new TwinEngineError("TWIN_INVALID_READING", `reading ${index} (${sign}): source is not a string`);
  }
  const table = UNITS[sign];
  const convert =
    typeof unit === "string" && Object.prototype.hasOwnProperty.call(table.accepts, unit)
      ? table.accepts[unit]
      : undefined;
  if (convert === undefined) {
    throw new TwinEngineError(
      "TWIN_UNSUPPORTED_UNIT",
      `reading ${index} (${sign}): unit ${JSON.stringify(String(unit))} is not one of ${Object.keys(table.accepts).join(", ")}`,
    );
  }
  if (category !== undefined && !isCategoryBit(category)) {
    throw new TwinEngineError(
      "TWIN_INVALID_READING",
      `reading ${index} (${sign}): category is not one data category bit`,
    );
  }
  if (recordKey !== undefined && typeof recordKey !== "string") {
    throw new TwinEngineError("TWIN_INVALID_READING", `reading ${index} (${sign}): recordKey is not a string`);
  }
  const normalized: { -readonly [K in keyof VitalReading]: VitalReading[K] } = {
    sign,
    value: convert === identity ? value : Math.round(convert(value) * 1e6) / 1e6,
    unit: table.canonical,
    at,
  };
  if (source !== undefined && source !== "") normalized.source = source;
  if (category !== undefined) normalized.category = category;
  if (recordKey !== undefined && recordKey !== "") normalized.recordKey = recordKey;
  return Object.freeze(normalized);
}
