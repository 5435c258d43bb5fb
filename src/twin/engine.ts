import { keccakUtf8, canonicalJson } from "./canonical";
import type { TwinRecord, VitalReading, VitalSignName } from "../fhir/records";
import { compareAlerts } from "./alerts";
import { resolveConfig, type ResolvedConfig, type TwinOptions } from "./config";
import { composeVersion, inputsOf, NO_INPUTS } from "./model";
import { seriesOf } from "./readings";
import { DeviceScreen } from "./device-screen";
import { TwinEngineError } from "./errors";
import { RecordTrack } from "./record-track";
import { SignTrack } from "./sign-track";
import { computeSourcesRoot, normalizeSourceHashes } from "./source-tree";
import { documentOf, type SeriesEntry } from "./state-root";
import type { Bytes32, TwinAlert, TwinBatch, TwinModel, TwinVersion, VitalSummary } from "./types";

/**
 * The incremental twin engine of one patient. Each `apply` folds a batch into everything fed
 * so far and returns the next immutable version; a failed `apply` (invalid input) leaves the
 * engine unchanged. Version n equals `buildTwinModel` over the union of batches 1..n (the
 * from-scratch build in model.ts), so the order in which batches and their items arrive does
 * not change the roots.
 *
 * Only what a batch touches is made again (see sign-track.ts and record-track.ts): a new
 * reading appended to a sign costs its digest step, its rules' episodes since the last
 * non-breaching reading, and the statistics windows (of every sign when `asOf` moves); a
 * wearable's `vital` record costs a count. The cost of one new reading is bounded by the
 * readings in the windows and the open episode, not by the history: `lastApplyWork` says how
 * many readings and records the last apply visited. What still grows with the twin: the state
 * document's model (its lists and alerts) is hashed whole, and the sources tree is rebuilt
 * when a batch brings source hashes. A version's `records` and `readings` arrays are made when
 * first read, from logs the engine only appends to.
 */
export class TwinEngine {
  readonly #config: ResolvedConfig;
  readonly #records = new RecordTrack();
  readonly #signs = new Map<VitalSignName, SignTrack>();
  #sourceHashes: readonly Bytes32[] = Object.freeze([]);
  #sourcesRoot: Bytes32;
  #current: TwinVersion;
  #work = 0;
  readonly #screen: DeviceScreen;

  /**
   * Start an empty twin (version 0), or resume after `from` (a version this engine's options built, not a screened
   * view).
   */
  constructor(options: TwinOptions = {}, from?: TwinVersion) {
    this.#config = resolveConfig(options);
    this.#screen = new DeviceScreen(this.#config, this.#signs);
    if (from?.setAside !== undefined) {
      throw new TwinEngineError("TWIN_INVALID_OPTIONS", "an engine resumes from a version, not a screened view");
    }
    this.#sourcesRoot = computeSourcesRoot(this.#sourceHashes);
    if (from === undefined) {
      this.#current = composeVersion(NO_INPUTS, 0, this.#config);
      return;
    }
    const inputs = inputsOf(from);
    this.#fold({ records: [...inputs.records.values()], readings: [...inputs.series.values()].flat() });
    this.#setSources(from.sourceHashes);
    this.#current = from;
  }

  /** The latest version. */
  get current(): TwinVersion {
    return this.#current;
  }

  /** The latest version number (0 before the first apply). */
  get version(): number {
    return this.#current.version;
  }

  /** The resolved, frozen options. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** How many readings and records the last apply visited (a cost measure for tests and benchmarks). */
  get lastApplyWork(): number {
    return this.#work;
  }

  /**
   * The latest version as answers use it: readings of flagged devices set aside (see device-screen.ts). `current`
   * itself while none of the twin's readings comes from a flagged device.
   */
  get screened(): TwinVersion {
    const work = { n: 0 };
    const view = this.#screen.view(this.#current, work);
    this.#work += work.n;
    return view;
  }

  /** The flagged devices whose readings are set aside, sorted, as given. */
  get flaggedDevices(): readonly string[] {
    return this.#screen.devices;
  }

  /**
   * Replace the set of flagged devices (ids as readings carry them in `source`: DeviceRegistry addresses match in any
   * case). Readings are never dropped: the committed versions and their roots do not change, only the `screened`
   * view. Only the signs holding readings of a device flagged or cleared by this call are screened again; returns them
   * (`lastApplyWork` then counts the readings visited).
   */
  setFlaggedDevices(devices: Iterable<string>): readonly VitalSignName[] {
    const { signs, work } = this.#screen.set(devices);
    this.#work = work;
    return signs;
  }

  /** The record the twin keeps for `key` now (O(1); `current.records` sorts them all when first read). */
  effectiveRecord(key: string): TwinRecord | undefined {
    return this.#records.effective(key);
  }

  /** Fold a batch in and return the new version (number + 1), even if the batch added nothing new. */
  apply(batch: TwinBatch): TwinVersion {
    // Everything is validated before anything changes.
    const series = batch.readings?.length ? seriesOf(batch.readings) : undefined;
    const hashes = batch.sourceHashes?.length ? normalizeSourceHashes(batch.sourceHashes) : undefined;
    this.#work = this.#fold({ records: batch.records ?? [], series });
    if (hashes !== undefined) {
      this.#setSources([...this.#sourceHashes, ...hashes]);
      this.#work += this.#sourceHashes.length;
    }
    this.#current = this.#compose(this.#current.version + 1);
    return this.#current;
  }

  #fold(batch: {
    records: readonly TwinRecord[];
    readings?: readonly VitalReading[];
    series?: ReadonlyMap<VitalSignName, readonly VitalReading[]>;
  }): number {
    const series = batch.series ?? (batch.readings?.length ? seriesOf(batch.readings) : new Map());
    let work = batch.records.length > 0 ? this.#records.add(batch.records) : 0;
    for (const [sign, added] of series) {
      let track = this.#signs.get(sign);
      if (track === undefined) {
        track = new SignTrack(
          sign,
          this.#config,
          this.#config.thresholdRules.filter((rule) => rule.sign === sign),
        );
        this.#signs.set(sign, track);
      }
      work += track.add(added);
      work += this.#screen.added(sign, track, added);
    }
    return work;
  }

  #setSources(hashes: readonly string[]): void {
    const next = normalizeSourceHashes(hashes);
    if (next.length === this.#sourceHashes.length) return;
    this.#sourceHashes = Object.freeze(next);
    this.#sourcesRoot = computeSourcesRoot(this.#sourceHashes);
  }

  /** The version from the tracks, as composeVersion would make it from scratch. */
  #compose(version: number): TwinVersion {
    const signs = [...this.#signs.keys()].sort();
    let asOf: number | null = null;
    for (const sign of signs) {
      const last = this.#signs.get(sign)!.last!.at;
      if (asOf === null || last > asOf) asOf = last;
    }
    const work = { n: 0 };
    const vitals: Partial<Record<VitalSignName, VitalSummary>> = {};
    const entries: Record<string, SeriesEntry> = {};
    const readings: Partial<Record<VitalSignName, readonly VitalReading[]>> = {};
    const alerts: TwinAlert[] = [];
    for (const sign of signs) {
      const track = this.#signs.get(sign)!;
      if (asOf !== null) vitals[sign] = track.summary(asOf, work);
      entries[sign] = track.entry;
      for (const alert of track.alerts) alerts.push(alert);
      Object.defineProperty(readings, sign, { get: track.snapshot(), enumerable: true });
    }
    this.#work += work.n;
    const model: TwinModel = deepFreeze({
      asOf,
      ...this.#records.lists,
      recordCounts: this.#records.counts,
      vitals,
      alerts: alerts.sort(compareAlerts),
    });
    const stateRoot = keccakUtf8(canonicalJson(documentOf(this.#config, model, this.#records.entries, entries)));
    const result = {
      version,
      stateRoot,
      sourcesRoot: this.#sourcesRoot,
      model,
      readings: Object.freeze(readings),
      sourceHashes: this.#sourceHashes,
    };
    Object.defineProperty(result, "records", { get: this.#records.snapshot(), enumerable: true });
    return Object.freeze(result) as TwinVersion;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
