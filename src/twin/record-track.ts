import type { RecordKind, TwinRecord } from "../fhir/records";
import { clinicalLists, isListed, type ClinicalLists } from "./clinical";
import { mergeRecords, newerRecord, sortedRecords } from "./record-set";
import { recordEntries } from "./state-root";
import type { Bytes32 } from "./types";

/*
 * The records' part of the incremental engine (engine.ts). Records of kind `vital` and `lab`
 * (thousands a day from a wearable) change only the counts; the problem list, medications,
 * allergies and timeline, and the state document's record digests, are made again only when a
 * record they show changes. A version's sorted record list is made when first asked for.
 */

type Lists = Omit<ClinicalLists, "recordCounts">;

export class RecordTrack {
  #effective = new Map<string, TwinRecord>();
  /** Every record fed, in order: a version's records are the first `n` of it, replayed. */
  #log: TwinRecord[] = [];
  #counts = new Map<RecordKind, number>();
  #listed = new Map<string, TwinRecord>();
  /** The effective records that are not `vital`: their digests are in the state document. */
  #nonVital = new Map<string, TwinRecord>();
  #lists: Lists = { problems: [], medications: [], allergies: [], timeline: [] };
  #entries: readonly (readonly [string, Bytes32])[] = [];
  #listsDirty = false;
  #entriesDirty = false;

  /** Validates `records` (throws before any change) and folds them in; returns the work done. */
  add(records: readonly TwinRecord[]): number {
    const merged = mergeRecords(new Map(), records); // validates; the batch's own winners per key
    for (const record of merged.values()) {
      const existing = this.#effective.get(record.key);
      const kept = existing === undefined ? record : newerRecord(existing, record);
      this.#log.push(record);
      if (kept === existing) continue;
      this.#effective.set(record.key, kept);
      if (existing !== undefined) this.#count(existing.kind, -1);
      this.#count(kept.kind, 1);
      if (existing !== undefined && existing.kind !== "vital") {
        this.#nonVital.delete(existing.key);
        this.#entriesDirty = true;
      }
      if (kept.kind !== "vital") {
        this.#nonVital.set(kept.key, kept);
        this.#entriesDirty = true;
      }
      if (existing !== undefined && isListed(existing.kind)) {
        this.#listed.delete(existing.key);
        this.#listsDirty = true;
      }
      if (isListed(kept.kind)) {
        this.#listed.set(kept.key, kept);
        this.#listsDirty = true;
      }
    }
    let work = records.length;
    if (this.#listsDirty) {
      const { recordCounts: _counts, ...lists } = clinicalLists([...this.#listed.values()]);
      this.#lists = lists;
      this.#listsDirty = false;
      work += this.#listed.size;
    }
    if (this.#entriesDirty) {
      this.#entries = Object.freeze(recordEntries(sortedRecords(this.#nonVital)));
      this.#entriesDirty = false;
      work += this.#nonVital.size;
    }
    return work;
  }

  #count(kind: RecordKind, delta: number): void {
    const next = (this.#counts.get(kind) ?? 0) + delta;
    if (next === 0) this.#counts.delete(kind);
    else this.#counts.set(kind, next);
  }

  get lists(): Lists {
    return this.#lists;
  }

  get counts(): Partial<Record<RecordKind, number>> {
    return Object.fromEntries(this.#counts) as Partial<Record<RecordKind, number>>;
  }

  /** The state document's `records` member. */
  get entries(): readonly (readonly [string, Bytes32])[] {
    return this.#entries;
  }

  /** The effective record of a key now. */
  effective(key: string): TwinRecord | undefined {
    return this.#effective.get(key);
  }

  /** The effective records as they are now, sorted by key, made (from the log) when first asked for. */
  snapshot(): () => readonly TwinRecord[] {
    const log = this.#log;
    const n = log.length;
    let sorted: readonly TwinRecord[] | undefined;
    return () => {
      sorted ??= Object.freeze(sortedRecords(replay(log, n)));
      return sorted;
    };
  }
}

function replay(log: readonly TwinRecord[], n: number): Map<string, TwinRecord> {
  const map = new Map<string, TwinRecord>();
  for (let i = 0; i < n; i++) {
    const record = log[i];
    const existing = map.get(record.key);
    map.set(record.key, existing === undefined ? record : newerRecord(existing, record));
  }
  return map;
}
