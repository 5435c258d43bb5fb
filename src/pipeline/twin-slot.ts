import type { Signer } from "ethers";
import { isTwinId } from "../crypto";
import type { TwinRecord, VitalReading } from "../fhir/records";
import type { TwinEngine } from "../twin";
import { DataCategory } from "../vocabulary";
import type { decodeRecord, SaltedReading } from "./blob-codec";
import { MapLimitError } from "./concurrency";
import { PipelineError } from "./errors";
import type { BatchSummary } from "./pipeline-types";
import type { BatchAnchor, RecordAnchor } from "./reader";
import type { ReadingLookup } from "./reading-lookup";
import type { TwinTrees } from "./reading-tree-cache";
import type { BatchEntry, RecordEntry, TwinIndex } from "./twin-index";

/** The in-memory state of one twin, shared by the pipeline's modules. */
export interface TwinSlot {
  /** Replaced by its erased form on erasure. */
  index: TwinIndex;
  /** Null once erased. */
  engine: TwinEngine | null;
  /** Record key → the entry whose record the engine holds (and what the reads derived from them). */
  readonly effective: EffectiveRecords;
  readonly batchByKey: Map<string, BatchEntry>;
  /** The batches' reading trees, by batch key: a view of the pipeline's bounded cache (reading-tree-cache.ts). */
  readonly trees: TwinTrees;
  /**
   * Blobs already opened, by record CID, batch key or intake CID: a blob is fetched, checked against its
   * CID, decrypted and decoded once (the engine holds the same data in memory anyway), and later queries
   * answer from here without touching the store. `checkBlobs` re-reads the store on demand, so a blob
   * tampered with or lost on disk is still found. Erasure clears them.
   */
  readonly openedRecords: Map<string, DecodedRecord>;
  readonly openedBatches: Map<string, OpenedBatch>;
  readonly openedIntakes: Map<string, VitalReading[]>;
  /** The signer of the device whose readings are pending (they are anchored by it: one device per pending set). */
  deviceSigner?: Signer;
  /**
   * Set when erasure begins (before any key is destroyed). A read in flight checks it after each blob it opens and
   * before it answers, so nothing decrypted is returned or cached for the twin once erasure began.
   */
  erasing: boolean;
}

/** A record blob decoded: the record and the readings it carries. */
export type DecodedRecord = ReturnType<typeof decodeRecord>;

/** A batch opened once: its salted readings, their commitments, and each reading's anchor once built. */
export interface OpenedBatch {
  readonly salted: SaltedReading[];
  readonly hashes: readonly string[];
  /** By reading index; a proof is built the first time a query asks for that reading. */
  readonly anchors: (BatchAnchor | undefined)[];
  /** The readings by sign and time (positions in `salted`). */
  readonly lookup: ReadingLookup;
  /** The batch's source, checksummed (once per batch, not per query: a checksum is a keccak256). */
  readonly source: string;
}

/** A reading an effective EMR record carries, with that record's anchor. */
export interface CarriedReading {
  readonly reading: VitalReading;
  readonly recordAnchor: RecordAnchor;
}

/** The readings of a twin's effective records (twin-reads.ts), as read from `index`, with their lookup. */
export interface CarriedReadings {
  readonly index: TwinIndex;
  readonly readings: Promise<{ readonly carried: readonly CarriedReading[]; readonly lookup: ReadingLookup }>;
}

/**
 * Record key → the entry whose record the engine holds: a Map whose every change drops `carried`, the readings its
 * records carry as the reads derived them, so that a derived value can never outlive the entries it came from.
 * @dev Every change passes through `set`, `delete` or `clear` (today `markEffective` sets entries at ingest, flush
 * and restore; erasure clears them). The anchors derived depend on nothing else: a record's anchor is read off its
 * record batch, which never changes once indexed (new batches are appended), and erasure, which replaces the index,
 * clears the entries too (`carried` also records the index it was read from). Built empty only (Map's constructor
 * would call the overridden `set` before the fields exist).
 */
export class EffectiveRecords extends Map<string, RecordEntry> {
  /** Derived from the entries as they are now; undefined until a read derives it, and after every change. */
  carried: CarriedReadings | undefined;

  constructor() {
    super();
  }

  override set(key: string, entry: RecordEntry): this {
    this.carried = undefined;
    return super.set(key, entry);
  }

  override delete(key: string): boolean {
    this.carried = undefined;
    return super.delete(key);
  }

  override clear(): void {
    this.carried = undefined;
    super.clear();
  }
}

export const WEARABLE = DataCategory.WEARABLE_STREAMS;
/** Blobs sealed, stored or opened at once (file I/O overlaps the crypto). */
export const PARALLEL_IO = 16;

/** Throws `TWIN_ERASED` once the twin's erasure began: called after every await of a read, before it caches. */
export function stillReadable(slot: TwinSlot): void {
  if (slot.erasing || slot.index.erasedAt !== null || slot.engine === null) {
    throw erased(slot.index.twinId, slot.index.erasedAt);
  }
}

export function erased(twinId: string, erasedAt: string | null): PipelineError {
  return new PipelineError(
    "TWIN_ERASED",
    `twin ${twinId} was erased${erasedAt ? ` at ${erasedAt}` : ""}; its data can no longer be read`,
  );
}

/** A twin id as the pipeline keys it (lower case); throws `INVALID_OPTIONS`. */
export function twinKey(twinId: string): string {
  if (!isTwinId(twinId)) throw new PipelineError("INVALID_OPTIONS", "twinId must be a bytes32 hex string");
  return twinId.toLowerCase();
}

/** Rethrow the first error of a `mapLimit` as it was thrown. */
export async function unwrapped<R>(run: Promise<R[]>): Promise<R[]> {
  try {
    return await run;
  } catch (error) {
    throw error instanceof MapLimitError ? error.error : error;
  }
}

export function batchSummary(batch: BatchEntry): BatchSummary {
  return {
    key: batch.key,
    cid: batch.cid,
    contentHash: batch.contentHash,
    merkleRoot: batch.merkleRoot,
    count: batch.count,
    from: batch.from,
    to: batch.to,
    blockNumber: batch.blockNumber,
    transactionHash: batch.transactionHash,
  };
}

/**
 * After an apply: the entries whose record object the engine kept become the effective ones of their keys.
 * @dev Asks the engine per key (constant time) instead of building a set of `version.records`, which is made
 * lazily and would cost a sort of the whole twin after every apply.
 */
export function markEffective(slot: TwinSlot, records: readonly TwinRecord[], entries: readonly RecordEntry[]): void {
  const engine = slot.engine;
  if (records.length === 0 || engine === null) return;
  records.forEach((record, i) => {
    if (engine.effectiveRecord(record.key) === record) slot.effective.set(record.key, entries[i]);
  });
}

/** The latest committed state if it is that of the engine's current version, else null. */
export function currentAnchor<T extends { readonly version: number }>(states: readonly T[], version: number): T | null {
  const last = states.length > 0 ? states[states.length - 1] : null;
  return last !== null && last.version === version ? last : null;
}
