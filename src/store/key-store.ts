import { getAddress, isAddress } from "ethers";
import { isTwinId, parseWrappedKey } from "../crypto";
import { parseCid } from "./cid";
import { StoreError } from "./errors";

/**
 * Where the service keeps the data keys it wrapped for readers: one wrapped key per record
 * (content id) and reader (Ethereum address), grouped by twin so that erasing a twin destroys
 * all of them at once. The data keys themselves are never stored, only their wrapped forms.
 */

/** Which wrapped key: a record of a twin, for one reader. */
export interface WrappedKeyRef {
  /** The twin's `bytes32` id (hex, any case). */
  readonly twinId: string;
  /** Content id of the record's envelope. */
  readonly recordCid: string;
  /** The reader's Ethereum address (any case). */
  readonly reader: string;
}

/** A wrapped key and where it belongs. */
export interface WrappedKeyEntry extends WrappedKeyRef {
  /** The data key wrapped to the reader (`wrapDataKey`: 103 bytes in format v2, 87 in v1; see key-wrap-format.ts). */
  readonly wrappedKey: Uint8Array;
}

/** The proof a store gives of a twin's erasure. */
export interface ErasureReceipt {
  /** The twin, lowercase hex. */
  readonly twinId: string;
  /** When the twin was first erased (ISO 8601); unchanged by repeated erasure. */
  readonly erasedAt: string;
  /** Wrapped keys destroyed by this call (0 when repeating a completed erasure). */
  readonly destroyedKeys: number;
}

export interface KeyStore {
  /** Store (or replace) a reader's wrapped key for a record. Throws `TWIN_ERASED` once the twin is erased. */
  put(entry: WrappedKeyEntry): Promise<void>;
  /**
   * Store many wrapped keys at once (as `put` each, with the erasure checked once per twin before and after).
   * Optional: callers fall back to `put`. On failure some may be stored; the caller removes them if it must.
   */
  putMany?(entries: readonly WrappedKeyEntry[]): Promise<void>;
  /** The reader's wrapped key. Throws `TWIN_ERASED` for an erased twin, else `KEY_NOT_FOUND`. */
  get(ref: WrappedKeyRef): Promise<Uint8Array>;
  /** Whether the reader has a wrapped key for the record (false once the twin is erased). */
  has(ref: WrappedKeyRef): Promise<boolean>;
  /** Remove one reader's key for one record (e.g. on revocation); returns whether it was there. */
  remove(ref: WrappedKeyRef): Promise<boolean>;
  /** Checksummed addresses of the readers holding a key for a record, sorted. */
  readers(twinId: string, recordCid: string): Promise<string[]>;
  /** Content ids of the twin's records that have at least one wrapped key, sorted. */
  records(twinId: string): Promise<string[]>;
  /** Number of wrapped keys held for the twin: 0 after erasure. */
  countKeys(twinId: string): Promise<number>;
  /**
   * Erase a twin: record the erasure first, then destroy every wrapped key held for it. From
   * the first step on, reads fail with `TWIN_ERASED` and new keys are refused. Idempotent:
   * repeating it finishes an interrupted erasure and keeps the first `erasedAt`.
   */
  destroyAllForTwin(twinId: string): Promise<ErasureReceipt>;
  /** The erasure of a twin, or undefined if it was never erased: erasure is checkable. */
  erasure(twinId: string): Promise<Omit<ErasureReceipt, "destroyedKeys"> | undefined>;
}

/** @internal A twin id as 64 lowercase hex digits with `0x`. Throws `TWIN_ID_INVALID`. */
export function normalizeTwinId(twinId: string): string {
  if (!isTwinId(twinId)) throw new StoreError("TWIN_ID_INVALID", "twin id must be a bytes32 hex string");
  return twinId.toLowerCase();
}

/** @internal A checksummed address. Throws `ADDRESS_INVALID`. */
export function normalizeReader(reader: string): string {
  if (typeof reader !== "string" || !isAddress(reader)) {
    throw new StoreError("ADDRESS_INVALID", `not an Ethereum address: ${JSON.stringify(String(reader).slice(0, 64))}`);
  }
  return getAddress(reader);
}

/** @internal Validate and normalize a reference (`readerChecked`: the reader is a checksummed address already). */
export function normalizeRef(ref: WrappedKeyRef, readerChecked = false): WrappedKeyRef {
  parseCid(ref.recordCid);
  const reader = readerChecked ? ref.reader : normalizeReader(ref.reader);
  return { twinId: normalizeTwinId(ref.twinId), recordCid: ref.recordCid, reader };
}

/** @internal Validate an entry: its reference and the wrapped key's format (`CRYPTO_FORMAT`). */
export function normalizeEntry(entry: WrappedKeyEntry, readerChecked = false): WrappedKeyEntry {
  parseWrappedKey(entry.wrappedKey);
  return { ...normalizeRef(entry, readerChecked), wrappedKey: entry.wrappedKey };
}

/** @internal The error for a read on an erased twin. */
export function twinErased(twinId: string, erasedAt: string): StoreError {
  return new StoreError("TWIN_ERASED", `twin ${twinId} was erased at ${erasedAt}; its wrapped keys are destroyed`);
}
