import type { VitalSignName } from "./records";

/**
 * One canonical UCUM unit per vital sign, the units converted into it, and the range of values
 * that can be a measurement at all. Readings always carry the canonical unit.
 *
 * | sign             | canonical  | also accepted (converted)                       |
 * |------------------|------------|-------------------------------------------------|
 * | heartRate        | `/min`     | `{beats}/min`, `1/min` (annotations are ignored) |
 * | respiratoryRate  | `/min`     | `{breaths}/min`, `1/min`                          |
 * | oxygenSaturation | `%`        | `1` (a fraction, x100)                           |
 * | steps            | `{steps}`  | `1`, `{count}` (any annotation on a pure number)   |
 * | systolic         | `mm[Hg]`   | `kPa` (x7.50062), `mmHg`                          |
 * | diastolic        | `mm[Hg]`   | `kPa` (x7.50062), `mmHg`                          |
 * | bodyTemperature  | `Cel`      | `[degF]`, `K`                                     |
 * | glucose          | `mg/dL`    | `mmol/L` (x18.016), `g/L` (x100)                  |
 * | bodyWeight       | `kg`       | `g`, `[lb_av]`, `[oz_av]`                         |
 * | bodyHeight       | `cm`       | `m`, `mm`, `[in_i]`, `[ft_i]`                     |
 *
 * Converted values are rounded to two decimals; values already in the canonical unit are kept.
 */

type Convert = (value: number) => number;
const same: Convert = (v) => v;
const times =
  (factor: number): Convert =>
  (v) =>
    v * factor;

interface SignUnits {
  readonly canonical: string;
  /** UCUM codes with annotations removed (`{beats}/min` becomes `/min`, `{steps}` becomes `1`). */
  readonly ucum: Readonly<Record<string, Convert>>;
  /** Human unit texts, lower case, used only when there is no UCUM code. */
  readonly text: Readonly<Record<string, Convert>>;
  /** Plausible range in the canonical unit, inclusive. */
  readonly range: readonly [number, number];
}

const PER_MINUTE = { "/min": same, "1/min": same };
const MM_HG: SignUnits = {
  canonical: "mm[Hg]",
  ucum: { "mm[Hg]": same, mmHg: same, kPa: times(7.50062) },
  text: { mmhg: same, "mm hg": same, "mm[hg]": same },
  range: [0, 400],
};

export const SIGN_UNITS: Readonly<Record<VitalSignName, SignUnits>> = {
  heartRate: {
    canonical: "/min",
    ucum: PER_MINUTE,
    text: { "/min": same, bpm: same, "beats/min": same, "beats/minute": same, "{beats}/min": same },
    range: [0, 350],
  },
  respiratoryRate: {
    canonical: "/min",
    ucum: PER_MINUTE,
    text: { "/min": same, "breaths/min": same, "breaths/minute": same, "{breaths}/min": same },
    range: [0, 150],
  },
  oxygenSaturation: {
    canonical: "%",
    ucum: { "%": same, "1": times(100) },
    text: { "%": same, percent: same },
    range: [0, 100],
  },
  steps: {
    canonical: "{steps}",
    ucum: { "1": same },
    text: { steps: same, step: same, "{steps}": same, count: same },
    range: [0, 200_000],
  },
  bloodPressure: { ...MM_HG },
  systolic: MM_HG,
  diastolic: MM_HG,
  bodyTemperature: {
    canonical: "Cel",
    ucum: { Cel: same, "[degF]": (f) => ((f - 32) * 5) / 9, K: (k) => k - 273.15 },
    text: {
      cel: same,
      "°c": same,
      c: same,
      degc: same,
      "°f": (f) => ((f - 32) * 5) / 9,
      degf: (f) => ((f - 32) * 5) / 9,
    },
    range: [10, 50],
  },
  glucose: {
    canonical: "mg/dL",
    ucum: { "mg/dL": same, "mmol/L": times(18.016), "g/L": times(100) },
    text: { "mg/dl": same, "mmol/l": times(18.016) },
    range: [0, 3000],
  },
  bodyWeight: {
    canonical: "kg",
    ucum: { kg: same, g: times(0.001), "[lb_av]": times(0.45359237), "[oz_av]": times(0.028349523125) },
    text: { kg: same, kgs: same, lb: times(0.45359237), lbs: times(0.45359237), g: times(0.001) },
    range: [0, 1000],
  },
  bodyHeight: {
    canonical: "cm",
    ucum: { cm: same, m: times(100), mm: times(0.1), "[in_i]": times(2.54), "[ft_i]": times(30.48) },
    text: { cm: same, m: times(100), in: times(2.54), inch: times(2.54), inches: times(2.54) },
    range: [0, 300],
  },
};

/** A UCUM code with its curly-brace annotations removed; a bare annotation is the unit `1`. */
export function stripAnnotations(code: string): string {
  const stripped = code.replace(/\{[^{}]*\}/g, "");
  return stripped === "" ? "1" : stripped;
}

export type UnitOutcome =
  | { readonly ok: true; readonly value: number; readonly unit: string }
  | { readonly ok: false; readonly fault: "unit" | "range" };

/**
 * Converts a measurement of `sign` to its canonical unit. `ucumCode` is used when given (a
 * Quantity with a UCUM system); otherwise the human `unitText`. A missing unit is read as the
 * canonical unit only for pure counts (steps).
 */
export function toCanonical(sign: VitalSignName, value: number, ucumCode?: string, unitText?: string): UnitOutcome {
  const units = SIGN_UNITS[sign];
  let convert: Convert | undefined;
  if (ucumCode !== undefined) convert = units.ucum[stripAnnotations(ucumCode)];
  else if (unitText !== undefined) convert = units.text[unitText.trim().toLowerCase()];
  else if (units.canonical === "{steps}") convert = same;
  if (convert === undefined) return { ok: false, fault: "unit" };
  const converted = convert === same ? value : Math.round(convert(value) * 100) / 100;
  const [low, high] = units.range;
  if (!(converted >= low && converted <= high)) return { ok: false, fault: "range" };
  return { ok: true, value: converted, unit: units.canonical };
}

/** Whether a unit text has unbalanced curly braces (a malformed UCUM annotation). */
export function hasUnbalancedBraces(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === "{") depth++;
    else if (ch === "}" && --depth < 0) return true;
  }
  return depth !== 0;
}
