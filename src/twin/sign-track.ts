import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { VitalReading, VitalSignName } from "../fhir/records";
import { BaselineScan, episodes, thresholdAlertOf, thresholdClasses } from "./alerts";
import type { ResolvedConfig, ThresholdRule } from "./config";
import { compareReadings, deviceKey, mergeSeries, sameReading } from "./readings";
import { readingText, rememberSeriesDigest, type SeriesEntry } from "./state-root";
import { summarizeSeries } from "./statistics";
import type { Bytes32, TwinAlert, VitalSummary } from "./types";
import { canonicalUnit } from "./units";

/*
 * One sign's part of the incremental engine (engine.ts): its readings and everything derived
 * from them, brought up to date by `add`. Readings that sort after the last one held (the usual
 * case: a device streams forward in time) are appended, and the derived parts resume where they
 * stopped: the series digest continues its keccak sponge, the baseline scan its running sums,
 * and each rule's episodes are found again only from the last reading of class 0 (nothing
 * before it can change). Readings that land inside the series rebuild the sign from scratch.
 * Either way the result is the one model.ts computes from scratch, bit for bit.
 */

const utf8 = new TextEncoder();
type Hasher = ReturnType<typeof keccak_256.create>;

/** A growable Int8Array. */
function grownClasses(array: Int8Array, used: number, size: number): Int8Array {
  if (array.length >= size) return array;
  const bigger = new Int8Array(Math.max(size, array.length * 2, 16));
  bigger.set(array.subarray(0, used));
  return bigger;
}

/** One rule's episodes, resumable from its last reading of class 0. */
interface RuleTrack {
  readonly classes: Int8Array;
  /** The alerts found, and the index of each one's first reading. */
  readonly alerts: TwinAlert[];
  readonly starts: number[];
  /** The last index of class 0 among the classified readings, or −1. */
  readonly settled: number;
}

const EMPTY_RULE: RuleTrack = { classes: new Int8Array(0), alerts: [], starts: [], settled: -1 };

export class SignTrack {
  /** Append-only while readings arrive in order; versions hold `[backing, length]` views of it. */
  backing: VitalReading[] = [];
  #hasher: Hasher = keccak_256.create();
  #baseline = new BaselineScan();
  #rules: RuleTrack[];
  #baselineRule: RuleTrack = EMPTY_RULE;
  #alerts: readonly TwinAlert[] = [];
  #summary: VitalSummary | undefined;
  #summaryAsOf: number | null = null;
  #digest: Bytes32 | undefined;
  /** How many readings each device (its `deviceKey`) holds in the series. */
  readonly #devices = new Map<string, number>();

  /**
   * @param hashed Whether to keep the series digest (a device screen's track, screen.ts, needs no digest: it is
   * not committed).
   */
  constructor(
    readonly sign: VitalSignName,
    private readonly config: ResolvedConfig,
    private readonly rules: readonly Required<ThresholdRule>[],
    private readonly hashed = true,
  ) {
    this.#rules = rules.map(() => EMPTY_RULE);
  }

  /** The devices (`deviceKey`s of the readings' sources) the series holds readings of. */
  devices(): IterableIterator<string> {
    return this.#devices.keys();
  }

  get length(): number {
    return this.backing.length;
  }

  get last(): VitalReading | undefined {
    return this.backing[this.backing.length - 1];
  }

  /**
   * Adds sorted, duplicate-free readings of this sign; returns the work done (readings visited).
   * Appends when they all sort after the last reading held, else rebuilds.
   */
  add(added: readonly VitalReading[]): number {
    const last = this.last;
    if (last !== undefined && compareReadings(added[0], last) <= 0) {
      return this.#rebuild(mergeSeries(this.backing, added));
    }
    const from = this.backing.length;
    for (const reading of added) {
      const tail = this.backing[this.backing.length - 1];
      if (tail === undefined || !sameReading(tail, reading)) {
        this.backing.push(reading);
        this.#count(reading);
      }
    }
    return this.#derive(from);
  }

  #count(reading: VitalReading): void {
    if (reading.source === undefined) return;
    const key = deviceKey(reading.source);
    this.#devices.set(key, (this.#devices.get(key) ?? 0) + 1);
  }

  #rebuild(series: VitalReading[]): number {
    this.backing = series;
    this.#devices.clear();
    for (const reading of series) this.#count(reading);
    this.#hasher = keccak_256.create();
    this.#baseline = new BaselineScan();
    this.#rules = this.rules.map(() => EMPTY_RULE);
    this.#baselineRule = EMPTY_RULE;
    return this.#derive(0);
  }

  /** Brings the digest and alerts up to date after `backing[from..)` was added. */
  #derive(from: number): number {
    const series = this.backing;
    const n = series.length;
    if (n === from) return 0;
    let work = n - from;
    if (this.hashed) {
      for (let i = from; i < n; i++) this.#hasher.update(utf8.encode((i > 0 ? "," : "[") + readingText(series[i])));
    }
    this.#digest = undefined;
    this.#summary = undefined;
    this.#rules = this.#rules.map((track, r) => {
      const rule = this.rules[r];
      const classes = grownClasses(track.classes, from, n);
      thresholdClasses(series, rule, classes, from, n);
      const next = resume(track, classes, from, n, (start) =>
        episodes(series, classes, rule.sustainMs, rule.maxGapMs, start).map((e) => ({
          start: e.start,
          alert: thresholdAlertOf(series, e, rule),
        })),
      );
      work += n - Math.max(0, track.settled);
      return next;
    });
    const { baseline } = this.config;
    if (baseline.signs.includes(this.sign)) {
      const profile = this.config.signProfiles[this.sign];
      work += this.#baseline.extend(series, baseline, profile);
      const scan = this.#baseline;
      const track = this.#baselineRule;
      work += n - Math.max(0, track.settled);
      this.#baselineRule = resume(track, scan.classes, from, n, (start) =>
        episodes(series, scan.classes, profile.baselineSustainMs, baseline.maxGapMs, start).map((e) => ({
          start: e.start,
          alert: scan.alertOf(series, e, this.sign, baseline, profile),
        })),
      );
    }
    this.#alerts = [...this.#rules.flatMap((track) => track.alerts), ...this.#baselineRule.alerts];
    return work;
  }

  /** Every alert of this sign's rules (unordered: the engine sorts them all). */
  get alerts(): readonly TwinAlert[] {
    return this.#alerts;
  }

  /** The state document's entry: count and series digest. */
  get entry(): SeriesEntry {
    if (this.#digest === undefined) {
      const final = this.#hasher.clone();
      final.update(utf8.encode("]"));
      this.#digest = `0x${bytesToHex(final.digest())}`;
    }
    return { count: this.backing.length, digest: this.#digest };
  }

  /** The summary at `asOf` (kept while neither the readings nor `asOf` change); `work` counts readings visited. */
  summary(asOf: number, work: { n: number }): VitalSummary {
    if (this.#summary === undefined || this.#summaryAsOf !== asOf) {
      this.#summary = summarizeSeries(this.sign, canonicalUnit(this.sign), this.backing, asOf, this.config);
      this.#summaryAsOf = asOf;
      for (const window of this.#summary.windows) work.n += window.stats.count;
    }
    return this.#summary;
  }

  /** A frozen copy of the series as it is now, for a version, its digest remembered. */
  snapshot(): () => readonly VitalReading[] {
    const backing = this.backing;
    const length = backing.length;
    const digest = this.hashed ? this.entry.digest : undefined;
    let copy: readonly VitalReading[] | undefined;
    return () => {
      if (copy === undefined) {
        copy = Object.freeze(backing.slice(0, length));
        if (digest !== undefined) rememberSeriesDigest(copy, digest);
      }
      return copy;
    };
  }
}

/**
 * A rule's episodes after readings `[from, n)` were classified: those that began before the last
 * reading of class 0 preceding `from` are kept, the rest found again from there.
 */
function resume(
  track: RuleTrack,
  classes: Int8Array,
  from: number,
  n: number,
  find: (start: number) => { start: number; alert: TwinAlert }[],
): RuleTrack {
  const restart = from === 0 ? 0 : Math.max(0, track.settled);
  let keep = track.starts.length;
  while (keep > 0 && track.starts[keep - 1] >= restart) keep--;
  const found = find(restart);
  let settled = track.settled;
  for (let i = n - 1; i >= from; i--) {
    if (classes[i] === 0) {
      settled = i;
      break;
    }
  }
  return {
    classes,
    alerts: [...track.alerts.slice(0, keep), ...found.map((f) => f.alert)],
    starts: [...track.starts.slice(0, keep), ...found.map((f) => f.start)],
    settled,
  };
}
