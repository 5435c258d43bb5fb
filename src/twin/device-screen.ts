import type { VitalReading, VitalSignName } from "../fhir/records";
import { compareAlerts } from "./alerts";
import type { ResolvedConfig } from "./config";
import { TwinEngineError } from "./errors";
import { deviceKey } from "./readings";
import { SignTrack } from "./sign-track";
import type { SetAside, TwinAlert, TwinModel, TwinVersion, VitalSummary } from "./types";

/*
 * The engine's device screen (issue 15, device provenance). A device flagged on chain (DeviceRegistry: a recall, an
 * expired calibration) has its readings set aside: they stay in the twin (they were measured, anchored and committed,
 * and the state root covers them), but the screened view that answers use leaves them out of the statistics, trends,
 * alerts, scores and forecasts, and says how many it left out (`setAside`).
 *
 * Each sign that holds readings of a flagged device has a second SignTrack fed only the other readings: it grows with
 * the sign's track on each apply (the same incremental steps), and is made again only when the flagged set changes
 * for a device the sign holds readings of. Signs without such readings are the committed version's own, shared. So
 * the screened view equals the from-scratch build over the readings without the flagged devices' (at the twin's
 * `asOf`: the windows still end at the twin's latest reading, whichever device made it).
 */

/** The readings of a device in `flagged` (keys from `deviceKey`). */
function isFlagged(flagged: ReadonlyMap<string, string>, reading: VitalReading): boolean {
  return reading.source !== undefined && flagged.has(deviceKey(reading.source));
}

export class DeviceScreen {
  /** `deviceKey` → the device id as given. Replaced, never mutated (views capture it). */
  #flagged: ReadonlyMap<string, string> = new Map();
  /** The screened tracks of the signs holding readings of a flagged device. */
  readonly #tracks = new Map<VitalSignName, SignTrack>();
  #cache: { readonly of: TwinVersion; readonly view: TwinVersion } | undefined;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly signs: ReadonlyMap<VitalSignName, SignTrack>,
  ) {}

  /** The flagged devices, sorted, as given. */
  get devices(): readonly string[] {
    return [...this.#flagged.values()].sort();
  }

  /**
   * Replace the flagged set. Only the signs holding readings of a device that was flagged or cleared are screened
   * again; returns them (sorted) and the readings visited.
   */
  set(devices: Iterable<string>): { readonly signs: VitalSignName[]; readonly work: number } {
    const next = new Map<string, string>();
    for (const device of devices) {
      if (typeof device !== "string" || device === "") {
        throw new TwinEngineError("TWIN_INVALID_OPTIONS", "a flagged device must be a non-empty string");
      }
      next.set(deviceKey(device), device);
    }
    const changed = new Set<string>();
    for (const key of next.keys()) if (!this.#flagged.has(key)) changed.add(key);
    for (const key of this.#flagged.keys()) if (!next.has(key)) changed.add(key);
    const renamed = [...next].some(([key, id]) => this.#flagged.has(key) && this.#flagged.get(key) !== id);
    this.#flagged = next;
    if (changed.size > 0 || renamed) this.#cache = undefined;
    const signs: VitalSignName[] = [];
    let work = 0;
    for (const [sign, track] of this.signs) {
      if (![...track.devices()].some((key) => changed.has(key))) continue;
      work += this.#rescreen(sign, track);
      signs.push(sign);
    }
    return { signs: signs.sort(), work };
  }

  /** After the sign's track took `added` (sorted, duplicate-free): bring its screened track along. */
  added(sign: VitalSignName, track: SignTrack, added: readonly VitalReading[]): number {
    const screened = this.#tracks.get(sign);
    if (screened !== undefined) {
      const kept = added.filter((reading) => !isFlagged(this.#flagged, reading));
      return kept.length > 0 ? screened.add(kept) : 0;
    }
    if (this.#flagged.size === 0 || !added.some((reading) => isFlagged(this.#flagged, reading))) return 0;
    return this.#rescreen(sign, track);
  }

  /** Screen a sign from its whole series: a screened track when it holds flagged readings, none otherwise. */
  #rescreen(sign: VitalSignName, track: SignTrack): number {
    const kept = track.backing.filter((reading) => !isFlagged(this.#flagged, reading));
    if (kept.length === track.backing.length) {
      this.#tracks.delete(sign);
      return track.backing.length;
    }
    const rules = this.config.thresholdRules.filter((rule) => rule.sign === sign);
    const screened = new SignTrack(sign, this.config, rules, false);
    this.#tracks.set(sign, screened);
    return track.backing.length + (kept.length > 0 ? screened.add(kept) : 0);
  }

  /**
   * The version as answers see it: `current` itself when none of its readings is from a flagged device, else a view
   * with those readings left out of `readings`, the vitals' statistics and trends and the alerts, and `setAside`
   * saying what was left out (its roots are the committed version's). Kept until the version or the set changes.
   */
  view(current: TwinVersion, work: { n: number }): TwinVersion {
    if (this.#tracks.size === 0) return current;
    if (this.#cache?.of === current) return this.#cache.view;
    const asOf = current.model.asOf as number;
    const vitals: Partial<Record<VitalSignName, VitalSummary>> = { ...current.model.vitals };
    const readings: Partial<Record<VitalSignName, readonly VitalReading[]>> = {};
    for (const sign of Object.keys(current.readings) as VitalSignName[]) {
      const screened = this.#tracks.get(sign);
      if (screened === undefined) {
        Object.defineProperty(readings, sign, Object.getOwnPropertyDescriptor(current.readings, sign)!);
      } else if (screened.length > 0) {
        Object.defineProperty(readings, sign, { get: screened.snapshot(), enumerable: true });
      }
    }
    const flagged = this.#flagged;
    const bySign: Partial<Record<VitalSignName, number>> = {};
    const setAsideReadings: Partial<Record<VitalSignName, readonly VitalReading[]>> = {};
    const devices = new Set<string>();
    let total = 0;
    for (const [sign, screened] of [...this.#tracks].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const track = this.signs.get(sign)!;
      if (screened.length > 0) vitals[sign] = screened.summary(asOf, work);
      else delete vitals[sign];
      bySign[sign] = track.length - screened.length;
      total += track.length - screened.length;
      for (const key of track.devices()) if (flagged.has(key)) devices.add(flagged.get(key)!);
      const backing = track.backing;
      const length = backing.length;
      let marked: readonly VitalReading[] | undefined;
      Object.defineProperty(setAsideReadings, sign, {
        get: () => (marked ??= Object.freeze(backing.slice(0, length).filter((r) => isFlagged(flagged, r)))),
        enumerable: true,
      });
    }
    const alerts: TwinAlert[] = current.model.alerts.filter((alert) => !this.#tracks.has(alert.sign));
    for (const screened of this.#tracks.values()) alerts.push(...screened.alerts);
    const setAside: SetAside = Object.freeze({
      flaggedDevice: total,
      devices: Object.freeze([...devices].sort()),
      bySign: Object.freeze(bySign),
    });
    const model: TwinModel = deepFreeze({ ...current.model, vitals, alerts: alerts.sort(compareAlerts) });
    const view = {
      version: current.version,
      stateRoot: current.stateRoot,
      sourcesRoot: current.sourcesRoot,
      model,
      readings: Object.freeze(readings),
      sourceHashes: current.sourceHashes,
      setAside,
      setAsideReadings: Object.freeze(setAsideReadings),
    };
    Object.defineProperty(view, "records", Object.getOwnPropertyDescriptor(current, "records")!);
    const frozen = Object.freeze(view) as TwinVersion;
    this.#cache = { of: current, view: frozen };
    return frozen;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
