import type { VitalReading, VitalSignName } from "../fhir/records";
import { alertId } from "./alerts";
import { HOUR_MS, MINUTE_MS, type AlertSeverity, type Comparison, type ResolvedConfig } from "./config";
import { TwinEngineError } from "./errors";
import { firstAfter } from "./readings";
import type { Bytes32, TwinVersion } from "./types";
import { canonicalUnit } from "./units";

/**
 * Short-term forecasts of each vital sign, and the alerts they raise before a measured value
 * does. No maintained time-series library for JavaScript does exponential smoothing with
 * prediction intervals (none is in the registry lists either), so the method is written here,
 * after Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", ETS(A,A,N):
 *
 * - The sign's readings of the last `historyMs` before its latest reading are averaged into a
 *   regular grid of `stepMs` buckets ending at that reading; an empty bucket is a missing value
 *   (the state is carried forward, nothing learnt).
 * - Holt's linear method in error-correction form: ŷ = ℓ + b, e = y − ŷ, ℓ ← ŷ + αe, b ← b + βe
 *   (β = α·β* ≤ α); ℓ and b start from the first two values. α and β are the pair of a fixed
 *   grid with the smallest sum of squared one-step errors (deterministic, a few thousand steps).
 * - h steps ahead: ŷ(h) = ℓ + h·b, with variance σ²[1 + (h − 1)(α² + αβh + β²h(2h − 1)/6)],
 *   σ² the one-step errors' mean square (n − 2 degrees of freedom); the interval is ŷ(h) ± z·sd.
 *
 * A forecast alert is raised when the point forecast breaches a fixed-threshold rule (the same
 * table as the measured alerts, config.ts) within the horizon while the latest measured value
 * does not: it says when the crossing is expected. It is separate from the measured-value
 * alerts (kind `forecast`, never in the model): a prediction, not a measurement. Sustained
 * rules are judged on the forecast's first breaching step. Alerts are health data: never logged.
 */

export interface ForecastOptions {
  /** How far ahead (default 6 hours). */
  readonly horizonMs?: number;
  /** Grid step (default 15 minutes). */
  readonly stepMs?: number;
  /** How much of the sign's history is used (default 24 hours). */
  readonly historyMs?: number;
  /** Coverage of the prediction interval: 0.8, 0.9, 0.95 (default) or 0.99. */
  readonly level?: 0.8 | 0.9 | 0.95 | 0.99;
  /** Fewest buckets with readings to forecast from (default 6, at least 3). */
  readonly minBuckets?: number;
}

export interface ForecastPoint {
  /** Epoch ms: the latest reading's time plus h steps. */
  readonly at: number;
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
}

export interface SignForecast {
  readonly sign: VitalSignName;
  readonly unit: string;
  readonly method: "holt-linear";
  /** The latest reading the forecast starts from. */
  readonly basedOnAt: number;
  readonly stepMs: number;
  readonly level: number;
  readonly alpha: number;
  readonly beta: number;
  /** Standard deviation of the one-step errors. */
  readonly sigma: number;
  /** Buckets with readings it learnt from. */
  readonly buckets: number;
  readonly points: readonly ForecastPoint[];
}

export interface ForecastAlert {
  readonly kind: "forecast";
  /** keccak256 of `twinledger/alert/v1|forecast/<rule>|<sign>|<basedOnAt>`. */
  readonly id: Bytes32;
  readonly rule: string;
  readonly sign: VitalSignName;
  readonly severity: AlertSeverity;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly unit: string;
  readonly basedOnAt: number;
  /** The first forecast step whose point forecast breaches the rule. */
  readonly expectedAt: number;
  /** expectedAt − basedOnAt. */
  readonly leadMs: number;
  readonly forecast: number;
  readonly lower: number;
  readonly upper: number;
}

const Z: Readonly<Record<number, number>> = { 0.8: 1.2816, 0.9: 1.6449, 0.95: 1.96, 0.99: 2.5758 };
const ALPHAS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const BETAS = [0, 0.01, 0.02, 0.05, 0.1, 0.2];

interface Resolved {
  readonly horizonMs: number;
  readonly stepMs: number;
  readonly historyMs: number;
  readonly level: number;
  readonly minBuckets: number;
}

function resolve(options: ForecastOptions): Resolved {
  const bad = (what: string): never => {
    throw new TwinEngineError("TWIN_INVALID_QUERY", `forecast ${what}`);
  };
  const positive = (value: number, name: string) =>
    Number.isFinite(value) && value > 0 ? value : bad(`${name} must be positive`);
  const r = {
    horizonMs: positive(options.horizonMs ?? 6 * HOUR_MS, "horizonMs"),
    stepMs: positive(options.stepMs ?? 15 * MINUTE_MS, "stepMs"),
    historyMs: positive(options.historyMs ?? 24 * HOUR_MS, "historyMs"),
    level: options.level ?? 0.95,
    minBuckets: options.minBuckets ?? 6,
  };
  if (Z[r.level] === undefined) bad("level must be 0.8, 0.9, 0.95 or 0.99");
  if (!Number.isSafeInteger(r.minBuckets) || r.minBuckets < 3) bad("minBuckets must be an integer ≥ 3");
  if (r.horizonMs / r.stepMs > 10_000 || r.historyMs / r.stepMs > 100_000) bad("has too many steps");
  return r;
}

/** Bucket means over the grid ending at the latest reading (NaN for empty buckets). */
function bucketMeans(series: readonly VitalReading[], o: Resolved): { values: Float64Array; filled: number } {
  const end = series[series.length - 1].at;
  const count = Math.max(1, Math.ceil(o.historyMs / o.stepMs));
  const sums = new Float64Array(count);
  const counts = new Int32Array(count);
  const from = end - count * o.stepMs; // exclusive
  for (let i = firstAfter(series, from); i < series.length; i++) {
    const k = Math.min(count - 1, Math.floor((series[i].at - from - 1) / o.stepMs));
    sums[k] += series[i].value;
    counts[k]++;
  }
  let filled = 0;
  for (let k = 0; k < count; k++) {
    sums[k] = counts[k] > 0 ? sums[k] / counts[k] : Number.NaN;
    if (counts[k] > 0) filled++;
  }
  return { values: sums, filled };
}

interface Fit {
  readonly alpha: number;
  readonly beta: number;
  readonly level: number;
  readonly trend: number;
  readonly sse: number;
  readonly errors: number;
}

/** Holt's method over values (NaN missing) with given α, β; starts at the first two values. */
function holt(values: Float64Array, alpha: number, beta: number): Fit | undefined {
  let i = 0;
  while (i < values.length && Number.isNaN(values[i])) i++;
  let j = i + 1;
  while (j < values.length && Number.isNaN(values[j])) j++;
  if (j >= values.length) return undefined;
  let level = values[i];
  let trend = (values[j] - values[i]) / (j - i);
  let sse = 0;
  let errors = 0;
  for (let t = i + 1; t < values.length; t++) {
    const predicted = level + trend;
    const y = values[t];
    if (Number.isNaN(y)) {
      level = predicted;
      continue;
    }
    const e = y - predicted;
    level = predicted + alpha * e;
    trend += beta * e;
    sse += e * e;
    errors++;
  }
  return { alpha, beta, level, trend, sse, errors };
}

/** The forecast of one sign's sorted series, or undefined with too few buckets of readings. */
export function forecastSeries(
  sign: VitalSignName,
  series: readonly VitalReading[],
  options: ForecastOptions = {},
): SignForecast | undefined {
  const o = resolve(options);
  if (series.length === 0) return undefined;
  const { values, filled } = bucketMeans(series, o);
  if (filled < o.minBuckets) return undefined;
  let best: Fit | undefined;
  for (const alpha of ALPHAS) {
    for (const beta of BETAS) {
      if (beta > alpha) continue;
      const fit = holt(values, alpha, beta);
      if (fit !== undefined && (best === undefined || fit.sse < best.sse)) best = fit;
    }
  }
  if (best === undefined) return undefined;
  const { alpha, beta } = best;
  const variance = best.sse / Math.max(1, best.errors - 2);
  const z = Z[o.level];
  const basedOnAt = series[series.length - 1].at;
  const steps = Math.ceil(o.horizonMs / o.stepMs);
  const points: ForecastPoint[] = [];
  for (let h = 1; h <= steps; h++) {
    const value = best.level + h * best.trend;
    const sd = Math.sqrt(
      variance * (1 + (h - 1) * (alpha * alpha + alpha * beta * h + (beta * beta * h * (2 * h - 1)) / 6)),
    );
    points.push({ at: basedOnAt + h * o.stepMs, value, lower: value - z * sd, upper: value + z * sd });
  }
  return {
    sign,
    unit: canonicalUnit(sign),
    method: "holt-linear",
    basedOnAt,
    stepMs: o.stepMs,
    level: o.level,
    alpha,
    beta,
    sigma: Math.sqrt(variance),
    buckets: filled,
    points,
  };
}

/** Forecasts of a twin version's signs (all that have readings, or those asked for). */
export function forecastVitals(
  version: TwinVersion,
  options: ForecastOptions & { readonly signs?: readonly VitalSignName[] } = {},
): Partial<Record<VitalSignName, SignForecast>> {
  const out: Partial<Record<VitalSignName, SignForecast>> = {};
  const signs = options.signs ?? (Object.keys(version.model.vitals) as VitalSignName[]);
  for (const sign of signs) {
    const forecast = forecastSeries(sign, version.readings[sign] ?? [], options);
    if (forecast !== undefined) out[sign] = forecast;
  }
  return out;
}

function breaches(value: number, comparison: Comparison, threshold: number): boolean {
  return comparison === "<"
    ? value < threshold
    : comparison === "<="
      ? value <= threshold
      : comparison === ">"
        ? value > threshold
        : value >= threshold;
}

/**
 * The forecast alerts of a twin version under its engine's threshold rules: for each rule whose
 * sign's latest reading does not breach it, the first forecast step that does.
 */
export function forecastAlerts(
  version: TwinVersion,
  config: ResolvedConfig,
  options: ForecastOptions = {},
): ForecastAlert[] {
  const signs = [...new Set(config.thresholdRules.map((rule) => rule.sign))].filter((s) => version.model.vitals[s]);
  const forecasts = forecastVitals(version, { ...options, signs });
  const alerts: ForecastAlert[] = [];
  for (const rule of config.thresholdRules) {
    const forecast = forecasts[rule.sign];
    const latest = version.model.vitals[rule.sign]?.latest;
    if (forecast === undefined || latest === undefined) continue;
    if (breaches(latest.value, rule.comparison, rule.threshold)) continue; // a measured alert's business
    const point = forecast.points.find((p) => breaches(p.value, rule.comparison, rule.threshold));
    if (point === undefined) continue;
    alerts.push({
      kind: "forecast",
      id: alertId(`forecast/${rule.id}`, rule.sign, forecast.basedOnAt),
      rule: rule.id,
      sign: rule.sign,
      severity: rule.severity,
      comparison: rule.comparison,
      threshold: rule.threshold,
      unit: forecast.unit,
      basedOnAt: forecast.basedOnAt,
      expectedAt: point.at,
      leadMs: point.at - forecast.basedOnAt,
      forecast: point.value,
      lower: point.lower,
      upper: point.upper,
    });
  }
  return alerts.sort((a, b) => a.expectedAt - b.expectedAt || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}
