import type { VitalReading, VitalSignName } from "../fhir/records";

/**
 * Sign+time lookups over a list of readings that does not change once built (a batch's readings, an intake's, the
 * readings the twin's effective EMR records carry): per sign, the positions of its readings in time order, so that a
 * query for some signs over a time span binary-searches each sign instead of testing every reading of the list.
 */

/** Which readings a query wants: some signs (all when undefined), at or after `from` and before `to` (ms). */
export interface ReadingSpan {
  readonly signs: ReadonlySet<VitalSignName> | undefined;
  readonly from: number;
  readonly to: number;
}

/** One sign's readings: their times ascending and each one's position in the list (equal times in list order). */
interface SignRun {
  readonly at: Float64Array;
  readonly positions: Uint32Array;
}

export class ReadingLookup {
  readonly #bySign = new Map<VitalSignName, SignRun>();

  /** A lookup over `count` readings, the `i`-th given by `readingAt(i)` (read once, here). */
  constructor(count: number, readingAt: (i: number) => VitalReading) {
    const grouped = new Map<VitalSignName, number[]>();
    const times = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const reading = readingAt(i);
      times[i] = reading.at;
      if (Number.isNaN(reading.at)) continue; // matches no span
      let list = grouped.get(reading.sign);
      if (list === undefined) grouped.set(reading.sign, (list = []));
      list.push(i);
    }
    for (const [sign, list] of grouped) {
      list.sort((a, b) => times[a] - times[b]); // stable: equal times keep the list's order
      this.#bySign.set(sign, { at: Float64Array.from(list, (i) => times[i]), positions: Uint32Array.from(list) });
    }
  }

  /** A lookup over a list of readings. */
  static of(readings: readonly VitalReading[]): ReadingLookup {
    return new ReadingLookup(readings.length, (i) => readings[i]);
  }

  /**
   * The positions of the readings in the span: sign by sign (in the order of `span.signs`, else the list's), each
   * sign's in time order, equal times in list order. Exactly those for which `signs.has(sign) && at >= from &&
   * at < to` holds (so a NaN bound matches nothing, as that test does).
   */
  positions(span: ReadingSpan): number[] {
    const out: number[] = [];
    const runs = span.signs === undefined ? this.#bySign.values() : span.signs;
    for (const item of runs) {
      const run = typeof item === "string" ? this.#bySign.get(item) : item;
      if (run === undefined) continue;
      const { at, positions } = run;
      for (let i = firstNotBefore(at, span.from); i < at.length && at[i] < span.to; i++) {
        if (at[i] >= span.from) out.push(positions[i]);
      }
    }
    return out;
  }
}

/** The first index whose time is not below `from` (the length if none); 0 for a NaN `from`. */
function firstNotBefore(at: Float64Array, from: number): number {
  let lo = 0;
  let hi = at.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
