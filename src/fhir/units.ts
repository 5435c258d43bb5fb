import type { VitalSignName } from "./records";

/**
 * One canonical UCUM unit per vital sign, and the range of values that can be a measurement at
 * all. Readings always carry the canonical unit. Conversion is UCUM's (`@lhncbc/ucum-lhc`): any
 * unit of the same dimension converts (`[lb_av]`, `g` to `kg`; `[degF]`, `K` to `Cel`; `kPa` to
 * `mm[Hg]`; `{beats}/min` to `/min`, annotations being ignored as UCUM says; a fraction `1` to
 * `%`), glucose moles with its molar mass (180.156 g/mol). Human unit texts, used only when a
 * Quantity has no UCUM code, are mapped to UCUM by a short table (`bpm`, `lbs`, `mmHg`, `°F`, ...).
 *
 * | sign              | canonical  | plausible range |
 * |-------------------|------------|-----------------|
 * | heartRate         | `/min`     | 0 to 350        |
 * | respiratoryRate   | `/min`     | 0 to 150        |
 * | oxygenSaturation  | `%`        | 0 to 100        |
 * | steps             | `{steps}`  | 0 to 200,000 (pure counts only) |
 * | systolic, diastolic | `mm[Hg]` | 0 to 400        |
 * | bodyTemperature   | `Cel`      | 10 to 50        |
 * | glucose           | `mg/dL`    | 0 to 3000       |
 * | bodyWeight        | `kg`       | 0 to 1000       |
 * | bodyHeight        | `cm`       | 0 to 300        |
 * | bmi               | `kg/m2`    | 1 to 250        |
 * | headCircumference | `cm`       | 5 to 100        |
 *
 * Converted values are rounded to two decimals; values already in the canonical unit are kept.
 */

interface SignUnits {
  readonly canonical: string;
  /** Plausible range in the canonical unit, inclusive. */
  readonly range: readonly [number, number];
  /** Human unit texts, lower case, to UCUM codes; used only when there is no UCUM code. */
  readonly text?: Readonly<Record<string, string>>;
  /** Molar mass (g/mol) for mass/moles conversions. */
  readonly molecularWeight?: number;
  /** Only pure numbers (`1`, `{steps}`, any annotation): no other dimensionless unit such as `%`. */
  readonly countOnly?: boolean;
}

const PER_MINUTE_TEXT = {
  "/min": "/min",
  "1/min": "/min",
  "per min": "/min",
  "per minute": "/min",
  bpm: "/min",
  "beats/min": "/min",
  "beats/minute": "/min",
  "{beats}/min": "/min",
  "breaths/min": "/min",
  "breaths/minute": "/min",
  "{breaths}/min": "/min",
};
const MM_HG: SignUnits = {
  canonical: "mm[Hg]",
  range: [0, 400],
  text: { mmhg: "mm[Hg]", "mm hg": "mm[Hg]", "mm[hg]": "mm[Hg]", kpa: "kPa" },
};
const LENGTH_TEXT = { cm: "cm", m: "m", mm: "mm", in: "[in_i]", inch: "[in_i]", inches: "[in_i]", ft: "[ft_i]" };

export const SIGN_UNITS: Readonly<Record<VitalSignName, SignUnits>> = {
  heartRate: { canonical: "/min", range: [0, 350], text: PER_MINUTE_TEXT },
  respiratoryRate: { canonical: "/min", range: [0, 150], text: PER_MINUTE_TEXT },
  oxygenSaturation: { canonical: "%", range: [0, 100], text: { "%": "%", percent: "%" } },
  steps: {
    canonical: "{steps}",
    range: [0, 200_000],
    text: { steps: "1", step: "1", "{steps}": "1", count: "1" },
    countOnly: true,
  },
  bloodPressure: MM_HG,
  systolic: MM_HG,
  diastolic: MM_HG,
  bodyTemperature: {
    canonical: "Cel",
    range: [10, 50],
    text: { cel: "Cel", "°c": "Cel", c: "Cel", degc: "Cel", "°f": "[degF]", degf: "[degF]", f: "[degF]", k: "K" },
  },
  glucose: {
    canonical: "mg/dL",
    range: [0, 3000],
    text: { "mg/dl": "mg/dL", "mmol/l": "mmol/L", "g/l": "g/L" },
    molecularWeight: 180.156,
  },
  bodyWeight: {
    canonical: "kg",
    range: [0, 1000],
    text: {
      kg: "kg",
      kgs: "kg",
      g: "g",
      lb: "[lb_av]",
      lbs: "[lb_av]",
      pound: "[lb_av]",
      pounds: "[lb_av]",
      oz: "[oz_av]",
    },
  },
  bodyHeight: { canonical: "cm", range: [0, 300], text: LENGTH_TEXT },
  bmi: { canonical: "kg/m2", range: [1, 250], text: { "kg/m2": "kg/m2", "kg/m^2": "kg/m2", "kg/m²": "kg/m2" } },
  headCircumference: { canonical: "cm", range: [5, 100], text: LENGTH_TEXT },
};

/** A UCUM code with its curly-brace annotations removed; a bare annotation is the unit `1`. */
export function stripAnnotations(code: string): string {
  const stripped = code.replace(/\{[^{}]*\}/g, "");
  return stripped === "" ? "1" : stripped;
}

export type UnitOutcome =
  | { readonly ok: true; readonly value: number; readonly unit: string }
  | { readonly ok: false; readonly fault: "unit" | "range" };

interface UcumConverter {
  convertUnitTo(
    from: string,
    value: number,
    to: string,
    options?: { molecularWeight?: number },
  ): { status: string; toVal: number | null };
}

let ucum: UcumConverter | undefined;
function ucumUtils(): UcumConverter {
  if (ucum === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require("@lhncbc/ucum-lhc") as { UcumLhcUtils: { getInstance(): UcumConverter } };
    ucum = lib.UcumLhcUtils.getInstance();
  }
  return ucum;
}

/** `value -> scale * value + offset`, or null when UCUM cannot convert. Cached per (sign, unit). */
type Affine = { readonly scale: number; readonly offset: number } | null;
const conversions = new Map<string, Affine>();

function conversion(sign: VitalSignName, from: string): Affine {
  const key = `${sign}\u0000${from}`;
  const cached = conversions.get(key);
  if (cached !== undefined) return cached;
  const units = SIGN_UNITS[sign];
  let affine: Affine = null;
  if (from === units.canonical) affine = { scale: 1, offset: 0 };
  else if (units.countOnly) affine = stripAnnotations(from) === "1" ? { scale: 1, offset: 0 } : null;
  else if (from.length <= 64 && conversions.size < 10_000) {
    const options = units.molecularWeight !== undefined ? { molecularWeight: units.molecularWeight } : {};
    const at = (v: number): number | null => {
      try {
        const r = ucumUtils().convertUnitTo(from, v, units.canonical, options);
        return r.status === "succeeded" && typeof r.toVal === "number" && Number.isFinite(r.toVal) ? r.toVal : null;
      } catch {
        return null;
      }
    };
    const zero = at(0);
    const one = at(1);
    const hundred = at(100);
    if (zero !== null && one !== null && hundred !== null) {
      const scale = one - zero;
      // UCUM's conversions of vital-sign units are affine (temperatures) or linear; check it.
      if (scale > 0 && Math.abs(zero + 100 * scale - hundred) <= 1e-9 * Math.max(1, Math.abs(hundred))) {
        affine = { scale, offset: zero };
      }
    }
  } else return null; // input-chosen unit strings must not grow the cache without bound
  conversions.set(key, affine);
  return affine;
}

/**
 * Converts a measurement of `sign` to its canonical unit. `ucumCode` is used when given (a
 * Quantity with a UCUM system), falling back to the text table for the common non-UCUM codes
 * (`mmHg`); otherwise the human `unitText`. A missing unit is read as the canonical unit only
 * for pure counts (steps).
 */
export function toCanonical(sign: VitalSignName, value: number, ucumCode?: string, unitText?: string): UnitOutcome {
  const units = SIGN_UNITS[sign];
  let affine: Affine = null;
  if (ucumCode !== undefined) {
    affine = conversion(sign, ucumCode);
    if (affine === null) {
      const mapped = units.text?.[ucumCode.trim().toLowerCase()];
      if (mapped !== undefined) affine = conversion(sign, mapped);
    }
  } else if (unitText !== undefined) {
    const mapped = units.text?.[unitText.trim().toLowerCase()];
    if (mapped !== undefined) affine = conversion(sign, mapped);
  } else if (units.countOnly) affine = { scale: 1, offset: 0 };
  if (affine === null) return { ok: false, fault: "unit" };
  const identity = affine.scale === 1 && affine.offset === 0;
  const converted = identity ? value : Math.round((affine.scale * value + affine.offset) * 100) / 100;
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
