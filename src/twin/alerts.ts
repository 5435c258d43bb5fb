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
export interface Episode {
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
 * `from`: where to start, a reading of class 0 or 0 (episodes before it are left out); the
 * incremental engine restarts here after appending readings (see incremental.ts).
 */
export function episodes(
  series: readonly VitalReading[],
  classes: Int8Array,
  sustainMs: number,
  maxGapMs: number,
  from = 0,
): Episode[] {
  const found: Episode[] = [];
  let i = from;
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

/** Writes the classes (1 breaching, 0 not) of `series[from..to)` under a fixed-threshold rule. */
export function thresholdClasses(
  series: readonly VitalReading[],
  rule: Required<ThresholdRule>,
  classes: Int8Array,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) classes[i] = breaches(series[i].value, rule.comparison, rule.threshold) ? 1 : 0;
}

/** The alert of one episode of a fixed-threshold rule. */
export function thresholdAlertOf(
  series: readonly VitalReading[],
  episode: Episode,
  rule: Required<ThresholdRule>,
): ThresholdAlert {
  const low = rule.comparison === "<" || rule.comparison === "<=";
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
}

/** Alerts of one fixed-threshold rule over a sorted series, in O(n). */
export function thresholdAlerts(series: readonly VitalReading[], rule: Required<ThresholdRule>): ThresholdAlert[] {
  const classes = new Int8Array(series.length);
  thresholdClasses(series, rule, classes, 0, series.length);
  return episodes(series, classes, rule.sustainMs, rule.maxGapMs).map((episode) =>
    thresholdAlertOf(series, episode, rule),
  );
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
  const scan = new BaselineScan();
  scan.extend(series, baseline, profile);
  return episodes(series, scan.classes, profile.baselineSustainMs, baseline.maxGapMs).map((episode) =>
    scan.alertOf(series, episode, sign, baseline, profile),
  );
}

/** A typed array at least `size` long holding `array`'s first `used` values (doubling). */
function grown<T extends Int8Array | Int32Array | Float64Array>(array: T, used: number, size: number): T {
  if (array.length >= size) return array;
  const bigger = new (array.constructor as new (n: number) => T)(Math.max(size, array.length * 2, 16));
  bigger.set(array.subarray(0, used));
  return bigger;
}

/**
 * The baseline rule's per-reading judgement, resumable: `extend` classifies the readings added
 * since the last call with the very same running sums a one-pass scan would hold, so a series
 * extended at its end gives bit-for-bit the classes of a scan from scratch. The sums are shifted
 * by the series' first value (which an extension at the end never changes).
 */
export class BaselineScan {
  /** Per reading: +1 above, −1 below, 0 not deviating or not judged. */
  classes = new Int8Array(0);
  private zScore = new Float64Array(0);
  private means = new Float64Array(0);
  private deviations = new Float64Array(0);
  private counts = new Int32Array(0);
  /** Readings classified so far. */
  n = 0;
  private lo = 0;
  private hi = 0;
  private sum = 0;
  private squares = 0;

  /** Classifies `series[n..)`; returns how many readings it classified. */
  extend(series: readonly VitalReading[], baseline: BaselineOptions, profile: SignProfile): number {
    const total = series.length;
    const from = this.n;
    if (total <= from) return 0;
    this.classes = grown(this.classes, from, total);
    this.zScore = grown(this.zScore, from, total);
    this.means = grown(this.means, from, total);
    this.deviations = grown(this.deviations, from, total);
    this.counts = grown(this.counts, from, total);
    const shift = series[0].value;
    const { classes, zScore, means, deviations, counts } = this;
    const { windowMs, minSamples, minSpanMs, zThreshold } = baseline;
    const floor = profile.minBaselineStdDev;
    let { lo, hi, sum, squares } = this;
    for (let i = from; i < total; i++) {
      const at = series[i].at;
      for (; hi < total && series[hi].at < at; hi++) {
        const d = series[hi].value - shift;
        sum += d;
        squares += d * d;
      }
      for (; lo < hi && series[lo].at < at - windowMs; lo++) {
        const d = series[lo].value - shift;
        sum -= d;
        squares -= d * d;
      }
      const count = hi - lo;
      classes[i] = 0;
      if (count < minSamples || series[lo].at > at - minSpanMs) continue;
      const variance = Math.max(0, (squares - (sum * sum) / count) / (count - 1));
      const stddev = Math.sqrt(variance);
      const mean = shift + sum / count;
      const z = (series[i].value - mean) / Math.max(stddev, floor);
      zScore[i] = z;
      means[i] = mean;
      deviations[i] = stddev;
      counts[i] = count;
      classes[i] = z > zThreshold ? 1 : z < -zThreshold ? -1 : 0;
    }
    this.lo = lo;
    this.hi = hi;
    this.sum = sum;
    this.squares = squares;
    this.n = total;
    return total - from;
  }

  /** The alert of one episode (its worst reading is the first with the largest |z|). */
  alertOf(
    series: readonly VitalReading[],
    episode: Episode,
    sign: VitalSignName,
    baseline: BaselineOptions,
    profile: SignProfile,
  ): BaselineAlert {
    let worst = episode.start;
    for (let i = episode.start; i < episode.end; i++) {
      if (Math.abs(this.zScore[i]) > Math.abs(this.zScore[worst])) worst = i;
    }
    return {
      ...episodeFields(series, episode, BASELINE_RULE_ID, sign),
      kind: "baseline",
      severity: baseline.severity,
      direction: episode.direction > 0 ? "above" : "below",
      zThreshold: baseline.zThreshold,
      sustainMs: profile.baselineSustainMs,
      worst: series[worst].value,
      worstZ: this.zScore[worst],
      baselineMean: this.means[worst],
      baselineStdDev: this.deviations[worst],
      baselineCount: this.counts[worst],
      baselineWindowMs: baseline.windowMs,
    };
  }
}

export function compareAlerts(a: TwinAlert, b: TwinAlert): number {
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
