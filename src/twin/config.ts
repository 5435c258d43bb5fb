import { VitalSign, type VitalSignName } from "../fhir/records";
import { TwinEngineError } from "./errors";
import { isVitalSign } from "./units";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export type Comparison = "<" | "<=" | ">" | ">=";
export type AlertSeverity = "moderate" | "high" | "critical";

/** One row of the fixed-threshold alert table. Thresholds are in the sign's canonical unit. */
export interface ThresholdRule {
  /** Stable rule id; part of every alert id this rule produces. */
  readonly id: string;
  readonly sign: VitalSignName;
  /** A reading breaches the rule when `value <comparison> threshold`. */
  readonly comparison: Comparison;
  readonly threshold: number;
  /**
   * How long breaching readings must last before the rule alerts: 0 alerts on the first
   * breaching reading; otherwise a gap-free run of breaching readings must span at least
   * this long (last minus first time), so a single spike never alerts.
   */
  readonly sustainMs: number;
  /** For sustained rules: a longer gap between two breaching readings restarts the clock. */
  readonly maxGapMs?: number;
  readonly severity: AlertSeverity;
}

/** The default gap that restarts a sustained rule's clock. */
export const DEFAULT_MAX_GAP_MS = 5 * MINUTE_MS;

/**
 * The fixed-threshold alert table (all thresholds in canonical units, see units.ts).
 *
 * | rule              | sign             | breaches when      | must last                      | severity |
 * | ----------------- | ---------------- | ------------------ | ------------------------------ | -------- |
 * | `spo2-low`        | oxygenSaturation | value < 92 %       | one reading                    | high     |
 * | `heart-rate-high` | heartRate        | value > 120 /min   | ≥ 10 min, no gap over 5 min    | high     |
 * | `systolic-high`   | systolic         | value ≥ 180 mm[Hg] | one reading                    | critical |
 * | `diastolic-high`  | diastolic        | value ≥ 120 mm[Hg] | one reading                    | critical |
 * | `fever`           | bodyTemperature  | value ≥ 38.0 Cel   | one reading                    | moderate |
 * | `glucose-low`     | glucose          | value < 70 mg/dL   | one reading                    | high     |
 * | `glucose-high`    | glucose          | value > 250 mg/dL  | one reading                    | high     |
 *
 * "≥ 10 min" means the first and last of a run of consecutive breaching readings are at least
 * 10 minutes apart (e.g. 11 readings at one per minute); a single spike never alerts.
 *
 * Replace it with `options.thresholdRules`.
 */
export const DEFAULT_THRESHOLD_RULES: readonly ThresholdRule[] = Object.freeze(
  (
    [
      { id: "spo2-low", sign: "oxygenSaturation", comparison: "<", threshold: 92, sustainMs: 0, severity: "high" },
      {
        id: "heart-rate-high",
        sign: "heartRate",
        comparison: ">",
        threshold: 120,
        sustainMs: 10 * MINUTE_MS,
        maxGapMs: DEFAULT_MAX_GAP_MS,
        severity: "high",
      },
      { id: "systolic-high", sign: "systolic", comparison: ">=", threshold: 180, sustainMs: 0, severity: "critical" },
      { id: "diastolic-high", sign: "diastolic", comparison: ">=", threshold: 120, sustainMs: 0, severity: "critical" },
      { id: "fever", sign: "bodyTemperature", comparison: ">=", threshold: 38.0, sustainMs: 0, severity: "moderate" },
      { id: "glucose-low", sign: "glucose", comparison: "<", threshold: 70, sustainMs: 0, severity: "high" },
      { id: "glucose-high", sign: "glucose", comparison: ">", threshold: 250, sustainMs: 0, severity: "high" },
    ] satisfies ThresholdRule[]
  ).map((rule) => Object.freeze(rule)),
);

/**
 * Deviation from the patient's own baseline: a reading deviates when
 * `|value − mean| / max(stddev, minBaselineStdDev[sign]) > zThreshold`, where mean and the
 * sample standard deviation are taken over the same sign's readings in `[t − windowMs, t)`.
 * A reading is only judged when that baseline holds at least `minSamples` readings and its
 * oldest reading is at least `minSpanMs` old (20 readings in the first 20 minutes of a stream
 * are not a baseline). Consecutive deviating readings in one direction form an episode, which
 * alerts once it has lasted the sign's `baselineSustainMs` (gaps up to `maxGapMs`).
 */
export interface BaselineOptions {
  readonly signs: readonly VitalSignName[];
  readonly windowMs: number;
  readonly minSamples: number;
  readonly minSpanMs: number;
  readonly zThreshold: number;
  readonly maxGapMs: number;
  readonly severity: AlertSeverity;
}

export const DEFAULT_BASELINE: BaselineOptions = Object.freeze({
  signs: Object.freeze([
    "heartRate",
    "oxygenSaturation",
    "systolic",
    "diastolic",
    "bodyTemperature",
    "glucose",
    "respiratoryRate",
  ] satisfies VitalSignName[]),
  windowMs: 7 * DAY_MS,
  minSamples: 20,
  minSpanMs: DAY_MS,
  zThreshold: 3,
  maxGapMs: 15 * MINUTE_MS,
  severity: "moderate",
});

/** Per-sign tuning of trends and baselines, in the sign's canonical unit. */
export interface SignProfile {
  /**
   * Trend label threshold: a least-squares slope above `+stableSlopePerHour` is `rising`,
   * below `−stableSlopePerHour` is `falling`, anything in between (inclusive) is `stable`.
   */
  readonly stableSlopePerHour: number;
  /** Floor of the baseline standard deviation, so a flat baseline does not make every change infinite. */
  readonly minBaselineStdDev: number;
  /**
   * How long a baseline deviation must last before it alerts: streamed signs need a sustained
   * deviation (a spike during a stair climb is not news), spot-checked signs alert on one reading.
   */
  readonly baselineSustainMs: number;
}

/**
 * | sign             | stable while |slope| ≤ (per hour) | baseline stddev floor | baseline deviation must last |
 * | ---------------- | -------------------------------- | --------------------- | ---------------------------- |
 * | heartRate        | 2 /min                           | 1 /min                | 10 min                       |
 * | oxygenSaturation | 0.5 %                            | 0.5 %                 | 10 min                       |
 * | steps            | 100 {steps}                      | 10 {steps}            | one reading                  |
 * | bloodPressure, systolic, diastolic | 2 mm[Hg]       | 1 mm[Hg]              | one reading                  |
 * | bodyTemperature  | 0.1 Cel                          | 0.05 Cel              | one reading                  |
 * | glucose          | 10 mg/dL                         | 2 mg/dL               | 15 min                       |
 * | respiratoryRate  | 1 /min                           | 0.5 /min              | 10 min                       |
 * | bodyWeight       | 0.005 kg (≈ 0.84 kg a week)      | 0.1 kg                | one reading                  |
 * | bodyHeight       | 0.001 cm                         | 0.1 cm                | one reading                  |
 * | bmi              | 0.001 kg/m2                      | 0.1 kg/m2             | one reading                  |
 * | headCircumference | 0.001 cm                        | 0.1 cm                | one reading                  |
 */
export const DEFAULT_SIGN_PROFILES: Readonly<Record<VitalSignName, SignProfile>> = Object.freeze({
  heartRate: { stableSlopePerHour: 2, minBaselineStdDev: 1, baselineSustainMs: 10 * MINUTE_MS },
  oxygenSaturation: { stableSlopePerHour: 0.5, minBaselineStdDev: 0.5, baselineSustainMs: 10 * MINUTE_MS },
  steps: { stableSlopePerHour: 100, minBaselineStdDev: 10, baselineSustainMs: 0 },
  bloodPressure: { stableSlopePerHour: 2, minBaselineStdDev: 1, baselineSustainMs: 0 },
  systolic: { stableSlopePerHour: 2, minBaselineStdDev: 1, baselineSustainMs: 0 },
  diastolic: { stableSlopePerHour: 2, minBaselineStdDev: 1, baselineSustainMs: 0 },
  bodyTemperature: { stableSlopePerHour: 0.1, minBaselineStdDev: 0.05, baselineSustainMs: 0 },
  glucose: { stableSlopePerHour: 10, minBaselineStdDev: 2, baselineSustainMs: 15 * MINUTE_MS },
  respiratoryRate: { stableSlopePerHour: 1, minBaselineStdDev: 0.5, baselineSustainMs: 10 * MINUTE_MS },
  bodyWeight: { stableSlopePerHour: 0.005, minBaselineStdDev: 0.1, baselineSustainMs: 0 },
  bodyHeight: { stableSlopePerHour: 0.001, minBaselineStdDev: 0.1, baselineSustainMs: 0 },
  bmi: { stableSlopePerHour: 0.001, minBaselineStdDev: 0.1, baselineSustainMs: 0 },
  headCircumference: { stableSlopePerHour: 0.001, minBaselineStdDev: 0.1, baselineSustainMs: 0 },
});

/** A rolling window ending at the model's `asOf`: readings with `asOf − durationMs < at ≤ asOf`. */
export interface StatsWindow {
  readonly label: string;
  readonly durationMs: number;
}

export const DEFAULT_WINDOWS: readonly StatsWindow[] = Object.freeze([
  { label: "1h", durationMs: HOUR_MS },
  { label: "24h", durationMs: DAY_MS },
  { label: "7d", durationMs: 7 * DAY_MS },
]);

/** The fewest readings in a window for a trend to be labelled. */
export const DEFAULT_TREND_MIN_POINTS = 3;

/** Engine tuning; everything defaults to the documented tables above. */
export interface TwinOptions {
  /** Replaces the whole fixed-threshold table. */
  readonly thresholdRules?: readonly ThresholdRule[];
  /** Overrides parts of the baseline rule. */
  readonly baseline?: Partial<BaselineOptions>;
  /** Overrides parts of some signs' profiles. */
  readonly signProfiles?: Partial<Record<VitalSignName, Partial<SignProfile>>>;
  readonly windows?: readonly StatsWindow[];
  readonly trendMinPoints?: number;
}

/** Options with every default applied and validated. Part of the state commitment. */
export interface ResolvedConfig {
  readonly thresholdRules: readonly Required<ThresholdRule>[];
  readonly baseline: BaselineOptions;
  readonly signProfiles: Readonly<Record<VitalSignName, SignProfile>>;
  readonly windows: readonly StatsWindow[];
  readonly trendMinPoints: number;
}

const COMPARISONS: readonly Comparison[] = ["<", "<=", ">", ">="];
const SEVERITIES: readonly AlertSeverity[] = ["moderate", "high", "critical"];

function invalid(message: string): never {
  throw new TwinEngineError("TWIN_INVALID_OPTIONS", message);
}

function positive(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) invalid(`${what} must be a positive number`);
  return value;
}

function nonNegative(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    invalid(`${what} must be a non-negative number`);
  return value;
}

function severity(value: unknown, what: string): AlertSeverity {
  if (!SEVERITIES.includes(value as AlertSeverity)) invalid(`${what} must be one of ${SEVERITIES.join(", ")}`);
  return value as AlertSeverity;
}

function resolveRule(rule: ThresholdRule, index: number): Required<ThresholdRule> {
  const where = `thresholdRules[${index}]`;
  if (typeof rule.id !== "string" || rule.id === "") invalid(`${where}.id must be a non-empty string`);
  if (!isVitalSign(rule.sign)) invalid(`${where}.sign is not a known vital sign`);
  if (!COMPARISONS.includes(rule.comparison)) invalid(`${where}.comparison must be one of ${COMPARISONS.join(" ")}`);
  if (typeof rule.threshold !== "number" || !Number.isFinite(rule.threshold)) {
    invalid(`${where}.threshold must be a finite number`);
  }
  if (typeof rule.sustainMs !== "number" || !Number.isFinite(rule.sustainMs) || rule.sustainMs < 0) {
    invalid(`${where}.sustainMs must be a non-negative number`);
  }
  return Object.freeze({
    id: rule.id,
    sign: rule.sign,
    comparison: rule.comparison,
    threshold: rule.threshold,
    sustainMs: rule.sustainMs,
    maxGapMs: positive(rule.maxGapMs ?? DEFAULT_MAX_GAP_MS, `${where}.maxGapMs`),
    severity: severity(rule.severity, `${where}.severity`),
  });
}

/** Apply defaults to `options` and validate them; throws `TWIN_INVALID_OPTIONS`. */
export function resolveConfig(options: TwinOptions = {}): ResolvedConfig {
  const rules = (options.thresholdRules ?? DEFAULT_THRESHOLD_RULES).map(resolveRule);
  const ids = new Set(rules.map((rule) => rule.id));
  if (ids.size !== rules.length) invalid("thresholdRules ids must be unique");

  const b = { ...DEFAULT_BASELINE, ...options.baseline };
  if (!Array.isArray(b.signs) || !b.signs.every(isVitalSign)) invalid("baseline.signs must list known vital signs");
  if (!Number.isSafeInteger(b.minSamples) || b.minSamples < 2) invalid("baseline.minSamples must be an integer ≥ 2");
  const baseline: BaselineOptions = Object.freeze({
    signs: Object.freeze([...new Set(b.signs)]),
    windowMs: positive(b.windowMs, "baseline.windowMs"),
    minSamples: b.minSamples,
    minSpanMs: nonNegative(b.minSpanMs, "baseline.minSpanMs"),
    zThreshold: positive(b.zThreshold, "baseline.zThreshold"),
    maxGapMs: positive(b.maxGapMs, "baseline.maxGapMs"),
    severity: severity(b.severity, "baseline.severity"),
  });

  const profiles = {} as Record<VitalSignName, SignProfile>;
  for (const sign of Object.keys(VitalSign) as VitalSignName[]) {
    const merged = { ...DEFAULT_SIGN_PROFILES[sign], ...options.signProfiles?.[sign] };
    profiles[sign] = Object.freeze({
      stableSlopePerHour: positive(merged.stableSlopePerHour, `signProfiles.${sign}.stableSlopePerHour`),
      minBaselineStdDev: positive(merged.minBaselineStdDev, `signProfiles.${sign}.minBaselineStdDev`),
      baselineSustainMs: nonNegative(merged.baselineSustainMs, `signProfiles.${sign}.baselineSustainMs`),
    });
  }
  for (const sign of Object.keys(options.signProfiles ?? {})) {
    if (!isVitalSign(sign)) invalid(`signProfiles has an unknown sign`);
  }

  const windows = (options.windows ?? DEFAULT_WINDOWS).map((window, index) => {
    if (typeof window.label !== "string" || window.label === "") invalid(`windows[${index}].label must be non-empty`);
    return Object.freeze({
      label: window.label,
      durationMs: positive(window.durationMs, `windows[${index}].durationMs`),
    });
  });
  if (new Set(windows.map((window) => window.label)).size !== windows.length) invalid("windows labels must be unique");

  const trendMinPoints = options.trendMinPoints ?? DEFAULT_TREND_MIN_POINTS;
  if (!Number.isSafeInteger(trendMinPoints) || trendMinPoints < 2) invalid("trendMinPoints must be an integer ≥ 2");

  return Object.freeze({
    thresholdRules: Object.freeze(rules),
    baseline,
    signProfiles: Object.freeze(profiles),
    windows: Object.freeze(windows),
    trendMinPoints,
  });
}
