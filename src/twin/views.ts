import type { TwinRecord, VitalReading, VitalSignName } from "../fhir/records";
import { DataCategory } from "../vocabulary";
import { DAY_MS, HOUR_MS, MINUTE_MS, type AlertSeverity } from "./config";
import { TwinEngineError } from "./errors";
import { firstAfter, firstAtOrAfter } from "./readings";
import type {
  Allergy,
  Bytes32,
  LatestVital,
  Medication,
  Problem,
  ProblemStatus,
  TimelineEvent,
  TimelineKind,
  TwinAlert,
  TwinVersion,
} from "./types";
import { canonicalUnit, isVitalSign } from "./units";

/*
 * Read-only views the query gateway serves. Each takes a TwinVersion and returns typed,
 * frozen (or freshly built) values; none of them logs anything.
 */

export type LatestVitals = Readonly<Partial<Record<VitalSignName, LatestVital>>>;

export interface TwinSummary {
  readonly version: number;
  readonly stateRoot: Bytes32;
  readonly asOf: number | null;
  /** Active problems. */
  readonly problems: readonly Problem[];
  readonly activeMedications: readonly Medication[];
  /** Active allergies. */
  readonly allergies: readonly Allergy[];
  readonly latestVitals: LatestVitals;
  readonly openAlerts: number;
}

export function summary(version: TwinVersion): TwinSummary {
  const { model } = version;
  return {
    version: version.version,
    stateRoot: version.stateRoot,
    asOf: model.asOf,
    problems: model.problems.filter((problem) => problem.state === "active"),
    activeMedications: model.medications.filter((medication) => medication.active),
    allergies: model.allergies.filter((allergy) => allergy.active),
    latestVitals: latestVitals(version),
    openAlerts: model.alerts.reduce((open, alert) => open + (alert.status === "open" ? 1 : 0), 0),
  };
}

/** The latest reading of every sign that has one. */
export function latestVitals(version: TwinVersion): LatestVitals {
  const latest: Partial<Record<VitalSignName, LatestVital>> = {};
  for (const [sign, vital] of Object.entries(version.model.vitals)) {
    if (vital !== undefined) latest[sign as VitalSignName] = vital.latest;
  }
  return latest;
}

export type BucketSize = "minute" | "hour" | "day";
export type SeriesAggregation = "raw" | BucketSize;

const BUCKET_MS: Readonly<Record<BucketSize, number>> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

export interface SeriesQuery {
  readonly sign: VitalSignName;
  /** Inclusive start (epoch ms); unbounded if absent. */
  readonly from?: number;
  /** Inclusive end (epoch ms); unbounded if absent. */
  readonly to?: number;
  /** `raw` (default) or buckets aligned to UTC minutes, hours or days. */
  readonly aggregation?: SeriesAggregation;
  /**
   * Only readings of these data categories (a DataCategory mask, e.g. what a grant allows);
   * readings that carry no category count as VITALS. All readings if absent.
   */
  readonly categories?: number;
}

export interface SeriesBucket {
  /** Inclusive bucket start. */
  readonly start: number;
  /** Exclusive bucket end. */
  readonly end: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

interface SeriesBase {
  readonly sign: VitalSignName;
  readonly unit: string;
  readonly from: number | null;
  readonly to: number | null;
}

export interface RawSeries extends SeriesBase {
  readonly aggregation: "raw";
  readonly points: readonly VitalReading[];
}

export interface BucketedSeries extends SeriesBase {
  readonly aggregation: BucketSize;
  /** Only buckets holding readings, by start. */
  readonly buckets: readonly SeriesBucket[];
}

export type VitalsSeries = RawSeries | BucketedSeries;

/** A sign's readings in `[from, to]`, raw or bucketed (count, min, max, mean per bucket). */
export function vitalsSeries(version: TwinVersion, query: SeriesQuery & { aggregation?: "raw" }): RawSeries;
export function vitalsSeries(version: TwinVersion, query: SeriesQuery & { aggregation: BucketSize }): BucketedSeries;
export function vitalsSeries(version: TwinVersion, query: SeriesQuery): VitalsSeries;
export function vitalsSeries(version: TwinVersion, query: SeriesQuery): VitalsSeries {
  const { sign, from, to, aggregation = "raw", categories } = query;
  if (!isVitalSign(sign)) throw new TwinEngineError("TWIN_INVALID_QUERY", "unknown vital sign");
  for (const [name, bound] of [
    ["from", from],
    ["to", to],
  ] as const) {
    if (bound !== undefined && !Number.isFinite(bound)) {
      throw new TwinEngineError("TWIN_INVALID_QUERY", `${name} must be a finite time`);
    }
  }
  if (from !== undefined && to !== undefined && from > to) {
    throw new TwinEngineError("TWIN_INVALID_QUERY", "from is after to");
  }
  if (aggregation !== "raw" && !Object.prototype.hasOwnProperty.call(BUCKET_MS, aggregation)) {
    throw new TwinEngineError("TWIN_INVALID_QUERY", "aggregation must be raw, minute, hour or day");
  }
  if (categories !== undefined && !Number.isSafeInteger(categories)) {
    throw new TwinEngineError("TWIN_INVALID_QUERY", "categories must be an integer mask");
  }
  const all = version.readings[sign] ?? [];
  const inRange = all.slice(
    from === undefined ? 0 : firstAtOrAfter(all, from),
    to === undefined ? all.length : firstAfter(all, to),
  );
  const points =
    categories === undefined
      ? inRange
      : inRange.filter((reading) => ((reading.category ?? DataCategory.VITALS) & categories) !== 0);
  const base = { sign, unit: canonicalUnit(sign), from: from ?? null, to: to ?? null };
  if (aggregation === "raw") return { ...base, aggregation, points };

  const size = BUCKET_MS[aggregation];
  const buckets: SeriesBucket[] = [];
  let i = 0;
  while (i < points.length) {
    const bucketStart = Math.floor(points[i].at / size) * size;
    const bucketEnd = bucketStart + size;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (; i < points.length && points[i].at < bucketEnd; i++) {
      const value = points[i].value;
      count++;
      sum += value;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    buckets.push({ start: bucketStart, end: bucketEnd, count, min, max, mean: sum / count });
  }
  return { ...base, aggregation, buckets };
}

export interface AlertFilter {
  readonly status?: TwinAlert["status"];
  readonly kind?: TwinAlert["kind"];
  readonly sign?: VitalSignName;
  readonly severity?: AlertSeverity;
  /** Only alerts whose episode overlaps `[from, to]` (an open one lasts until now). */
  readonly from?: number;
  readonly to?: number;
}

/** The version's alerts, filtered, in model order (by startAt). */
export function alerts(version: TwinVersion, filter: AlertFilter = {}): readonly TwinAlert[] {
  return version.model.alerts.filter(
    (alert) =>
      (filter.status === undefined || alert.status === filter.status) &&
      (filter.kind === undefined || alert.kind === filter.kind) &&
      (filter.sign === undefined || alert.sign === filter.sign) &&
      (filter.severity === undefined || alert.severity === filter.severity) &&
      (filter.to === undefined || alert.startAt <= filter.to) &&
      (filter.from === undefined || alert.endAt === null || alert.endAt >= filter.from),
  );
}

/** The problem list, optionally only active or only resolved problems. */
export function conditions(version: TwinVersion, filter: { readonly state?: ProblemStatus } = {}): readonly Problem[] {
  const { problems } = version.model;
  return filter.state === undefined ? problems : problems.filter((problem) => problem.state === filter.state);
}

/** Medications, optionally only active ones. */
export function medications(
  version: TwinVersion,
  filter: { readonly activeOnly?: boolean } = {},
): readonly Medication[] {
  const list = version.model.medications;
  return filter.activeOnly ? list.filter((medication) => medication.active) : list;
}

/** Allergies, optionally only active ones. */
export function allergies(version: TwinVersion, filter: { readonly activeOnly?: boolean } = {}): readonly Allergy[] {
  const list = version.model.allergies;
  return filter.activeOnly ? list.filter((allergy) => allergy.active) : list;
}

/** Timeline events, optionally of some kinds and dated within `[from, to]` (undated ones only without bounds). */
export function timeline(
  version: TwinVersion,
  filter: { readonly kinds?: readonly TimelineKind[]; readonly from?: number; readonly to?: number } = {},
): readonly TimelineEvent[] {
  const bounded = filter.from !== undefined || filter.to !== undefined;
  return version.model.timeline.filter(
    (event) =>
      (filter.kinds === undefined || filter.kinds.includes(event.kind)) &&
      (!bounded ||
        (event.startAt !== null &&
          (filter.from === undefined || event.startAt >= filter.from) &&
          (filter.to === undefined || event.startAt <= filter.to))),
  );
}

/** A diagnostic report with its results resolved among the twin's records. */
export interface ReportResults {
  readonly report: TimelineEvent;
  /** The result records the twin holds (Observations, from this ingest or another), in the report's order. */
  readonly results: readonly TwinRecord[];
  /** Result keys the twin holds no record of (not sent yet, or skipped as cancelled): counted, not fatal. */
  readonly missing: readonly string[];
}

/** The record of `key` in a version (records are sorted by key), if any. */
export function recordOf(version: TwinVersion, key: string): TwinRecord | undefined {
  const records = version.records;
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return records[lo]?.key === key ? records[lo] : undefined;
}

/** A diagnostic report of the timeline with its results linked, or undefined if there is none under `key`. */
export function reportResults(version: TwinVersion, key: string): ReportResults | undefined {
  const report = version.model.timeline.find((event) => event.key === key && event.kind === "diagnostic-report");
  if (report === undefined) return undefined;
  const results: TwinRecord[] = [];
  const missing: string[] = [];
  for (const resultKey of report.results ?? []) {
    const record = recordOf(version, resultKey);
    if (record === undefined) missing.push(resultKey);
    else results.push(record);
  }
  return { report, results, missing };
}
