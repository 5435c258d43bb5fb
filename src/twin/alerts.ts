import type { VitalReading, VitalSignName } from "../fhir/records";
import type { BaselineOptions, Comparison, ResolvedConfig, SignProfile, ThresholdRule } from "./config";
import type { SeriesBySign } from "./readings";
import type { BaselineAlert, Bytes32, ThresholdAlert, TwinAlert } from "./types";
import { keccakUtf8 } from "./canonical";
import { canonicalUnit } from "./units";

/*
 * Alerts are derived from episodes: an episode is a maximal run of consecutive readings of
 * one sign (in time order) that all breach a rule. It ends at the first reading that does not
 * breach (`endAt`, status `resolved`); if the sign's latest reading still breaches it is `open`.
 * Everything is recomputed from the full series, so late (out-of-order) readings land where
 * they belong. Alerts are health data: nothing here logs.
 */

/** The baseline rule's id; its alerts also say `direction`. */
export const BASELINE_RULE_ID = "baseline-deviation";

/** Stable alert id: keccak256 of `twinledger/alert/v1|<rule>|<sign>|<startAt>`. */
export function alertId(rule: string, sign: VitalSignName, startAt: number): Bytes32 {
  return keccakUtf8(`twinledger/alert/v1|${rule}|${sign}|${startAt}`);
}

function breaches(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
  }
}

/** A run of consecutive readings `[start, end)` of one class that lasted long enough to alert. */
interface Episode {
  readonly start: number;
  readonly end: number;
  /** +1 or −1 (the class of its readings). */
  readonly direction: number;
  readonly triggeredAt: number;
}

/**
 * Episodes over per-reading classes (0: not breaching, ±1: breaching in a direction), in O(n).
 * A run fires once some gap-free stretch of it (no two consecutive readings more than
 * `maxGapMs` apart) spans at least `sustainMs`; with `sustainMs` 0 it fires at its first reading.
 */
function episodes(series: readonly VitalReading[], classes: Int8Array, sustainMs: number, maxGapMs: number): Episode[] {
  const found: Episode[] = [];
  let i = 0;
  while (i < series.length) {
    const direction = classes[i];
    if (direction === 0) {
      i++;
      continue;
    }
    const start = i;
    let stretchStart = series[i].at;
    let triggeredAt: number | null = null;
    for (; i < series.length && classes[i] === direction; i++) {
      const at = series[i].at;
      if (i > start && at - series[i - 1].at > maxGapMs) stretchStart = at;
      if (triggeredAt === null && at - stretchStart >= sustainMs) triggeredAt = at;
    }
    if (triggeredAt !== null) found.push({ start, end: i, direction, triggeredAt });
  }
  return found;
}

/** The fields every alert of an episode shares. */
function episodeFields(series: readonly VitalReading[], episode: Episode, rule: string, sign: VitalSignName) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = episode.start; i < episode.end; i++) {
    const value = series[i].value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const startAt = series[episode.start].at;
  const endAt = episode.end < series.length ? series[episode.end].at : null;
  return {
    id: alertId(rule, sign, startAt),
    rule,
    sign,
    status: endAt === null ? ("open" as const) : ("resolved" as const),
    unit: canonicalUnit(sign),
    startAt,
    triggeredAt: episode.triggeredAt,
    lastBreachAt: series[episode.end - 1].at,
    endAt,
    readingCount: episode.end - episode.start,
    min,
    max,
  };
}

/** Alerts of one fixed-threshold rule over a sorted series, in O(n). */
export function thresholdAlerts(series: readonly VitalReading[], rule: Required<ThresholdRule>): ThresholdAlert[] {
  const classes = new Int8Array(series.length);
  for (let i = 0; i < series.length; i++) {
    classes[i] = breaches(series[i].value, rule.comparison, rule.threshold) ? 1 : 0;
  }
  const low = rule.comparison === "<" || rule.comparison === "<=";
  return episodes(series, classes, rule.sustainMs, rule.maxGapMs).map((episode) => {
    const fields = episodeFields(series, episode, rule.id, rule.sign);
    return {
      ...fields,
      kind: "threshold",
      severity: rule.severity,
      comparison: rule.comparison,
      threshold: rule.threshold,
      sustainMs: rule.sustainMs,
      worst: low ? fields.min : fields.max,
    };
  });
}

/**
 * Alerts of deviation from the patient's own rolling baseline, in O(n). A sliding window over
 * the same sign's readings in `[t − windowMs, t)` keeps running sums (shifted by the first
 * value for numerical stability). A reading is judged only when that window holds at least
 * `minSamples` readings and reaches back at least `minSpanMs`; unjudged readings end any
 * episode, and so does a change of direction. Episodes must last the sign's
 * `baselineSustainMs` (gaps up to `maxGapMs`).
 */
export function baselineAlerts(
  sign: VitalSignName,
  series: readonly VitalReading[],
  baseline: BaselineOptions,
  profile: SignProfile,
): BaselineAlert[] {
  const n = series.length;
  if (n <= baseline.minSamples) return [];
  const shift = series[0].value;
  // Per reading: +1 above, −1 below, 0 not deviating or not judged; and what it was judged by.
  const classes = new Int8Array(n);
  const zScore = new Float64Array(n);
  const means = new Float64Array(n);
  const deviations = new Float64Array(n);
  const counts = new Int32Array(n);
  let lo = 0;
  let hi = 0;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const at = series[i].at;
    for (; hi < n && series[hi].at < at; hi++) {
      const d = series[hi].value - shift;
      sum += d;
      squares += d * d;
    }
    for (; lo < hi && series[lo].at < at - baseline.windowMs; lo++) {
      const d = series[lo].value - shift;
      sum -= d;
      squares -= d * d;
    }
    const count = hi - lo;
    if (count < baseline.minSamples || series[lo].at > at - baseline.minSpanMs) continue;
    const variance = Math.max(0, (squares - (sum * sum) / count) / (count - 1));
    const stddev = Math.sqrt(variance);
    const mean = shift + sum / count;
    const z = (series[i].value - mean) / Math.max(stddev, profile.minBaselineStdDev);
    zScore[i] = z;
    means[i] = mean;
    deviations[i] = stddev;
    counts[i] = count;
    classes[i] = z > baseline.zThreshold ? 1 : z < -baseline.zThreshold ? -1 : 0;
  }

  return episodes(series, classes, profile.baselineSustainMs, baseline.maxGapMs).map((episode) => {
    let worst = episode.start;
    for (let i = episode.start; i < episode.end; i++) {
      if (Math.abs(zScore[i]) > Math.abs(zScore[worst])) worst = i;
    }
    return {
      ...episodeFields(series, episode, BASELINE_RULE_ID, sign),
      kind: "baseline",
      severity: baseline.severity,
      direction: episode.direction > 0 ? "above" : "below",
      zThreshold: baseline.zThreshold,
      sustainMs: profile.baselineSustainMs,
      worst: series[worst].value,
      worstZ: zScore[worst],
      baselineMean: means[worst],
      baselineStdDev: deviations[worst],
      baselineCount: counts[worst],
      baselineWindowMs: baseline.windowMs,
    };
  });
}

function compareAlerts(a: TwinAlert, b: TwinAlert): number {
  if (a.startAt !== b.startAt) return a.startAt - b.startAt;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Every alert of every rule over all series, ordered by startAt, rule, sign, id. */
export function detectAlerts(series: SeriesBySign, config: ResolvedConfig): TwinAlert[] {
  const alerts: TwinAlert[] = [];
  for (const rule of config.thresholdRules) {
    const readings = series.get(rule.sign);
    if (readings) for (const alert of thresholdAlerts(readings, rule)) alerts.push(alert);
  }
  for (const sign of config.baseline.signs) {
    const readings = series.get(sign);
    if (!readings) continue;
    for (const alert of baselineAlerts(sign, readings, config.baseline, config.signProfiles[sign])) alerts.push(alert);
  }
  return alerts.sort(compareAlerts);
}
