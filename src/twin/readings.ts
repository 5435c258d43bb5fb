import type { VitalReading, VitalSignName } from "../fhir/records";
import { normalizeReading } from "./units";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * The key a device is matched by: a reading's `source`, or a flagged device's id, lower-cased when it is an address
 * (the DeviceRegistry id of a device: the account its readings are signed and anchored with), as given otherwise.
 */
export function deviceKey(source: string): string {
  return ADDRESS.test(source) ? source.toLowerCase() : source;
}

/** Per sign, readings sorted by `compareReadings` with duplicates removed. */
export type SeriesBySign = ReadonlyMap<VitalSignName, readonly VitalReading[]>;

function compareOptional<T extends string | number>(a: T | undefined, b: T | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

/**
 * Same sign, time, value and source: the second one is a duplicate and is ignored. (The
 * category and record key that ingest attaches do not make a reading distinct.)
 */
export function sameReading(a: VitalReading, b: VitalReading): boolean {
  return a.at === b.at && a.value === b.value && a.source === b.source;
}

/**
 * The total order of a sign's readings: time, value, source (none first), then category and
 * record key. Duplicates (`sameReading`) are adjacent in it, and the first one is kept, so
 * which copy survives does not depend on arrival order.
 */
export function compareReadings(a: VitalReading, b: VitalReading): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return (
    compareOptional(a.source, b.source) ||
    compareOptional(a.category, b.category) ||
    compareOptional(a.recordKey, b.recordKey)
  );
}

function dedupeSorted(sorted: VitalReading[]): VitalReading[] {
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (kept === 0 || !sameReading(sorted[kept - 1], sorted[i])) sorted[kept++] = sorted[i];
  }
  sorted.length = kept;
  return sorted;
}

/** Validate and normalize a batch into sorted, duplicate-free series per sign. */
export function seriesOf(readings: readonly VitalReading[]): Map<VitalSignName, VitalReading[]> {
  const bySign = new Map<VitalSignName, VitalReading[]>();
  readings.forEach((reading, index) => {
    const normalized = normalizeReading(reading, index);
    const list = bySign.get(normalized.sign);
    if (list) list.push(normalized);
    else bySign.set(normalized.sign, [normalized]);
  });
  for (const list of bySign.values()) dedupeSorted(list.sort(compareReadings));
  return bySign;
}

/** Merge two sorted, duplicate-free series into a new one, in O(n + m). */
export function mergeSeries(a: readonly VitalReading[], b: readonly VitalReading[]): VitalReading[] {
  const out: VitalReading[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let next: VitalReading;
    if (j >= b.length) next = a[i++];
    else if (i >= a.length) next = b[j++];
    else next = compareReadings(a[i], b[j]) <= 0 ? a[i++] : b[j++];
    if (out.length === 0 || !sameReading(out[out.length - 1], next)) out.push(next);
  }
  return out;
}

/** Merge a new batch's series into existing ones; signs without new readings keep their array. */
export function mergeSeriesBySign(
  base: SeriesBySign,
  batch: SeriesBySign,
): Map<VitalSignName, readonly VitalReading[]> {
  const merged = new Map<VitalSignName, readonly VitalReading[]>(base);
  for (const [sign, added] of batch) {
    const existing = base.get(sign);
    merged.set(sign, Object.freeze(existing ? mergeSeries(existing, added) : [...added]));
  }
  return merged;
}

/** Index of the first reading with `at > time` (binary search on a sorted series). */
export function firstAfter(series: readonly VitalReading[], time: number): number {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (series[mid].at <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first reading with `at >= time`. */
export function firstAtOrAfter(series: readonly VitalReading[], time: number): number {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (series[mid].at < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
