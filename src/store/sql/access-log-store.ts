/**
 * Where the gateway's access log, its anchors, its refusal counters and the readers' used nonces are kept: one
 * async interface, two implementations ({@link SqliteAccessLogStore}, the embedded default; {@link
 * PostgresAccessLogStore}, for gateway replicas sharing one database). The log's meaning (leaf hashes, trees,
 * proofs, pages) is src/service/access-log.ts; a store keeps rows and guarantees:
 *
 * - indexes are gap-free and in commit order, even with several writing processes (an entry's leaf hash, which
 *   encodes its index, is computed by the caller inside the append's transaction: `append(entry, leafHashOf)`);
 * - entries are never deleted and never updated but once, by `eraseTwin` (a database trigger refuses the rest);
 * - a (reader, nonce) pair is claimed by exactly one caller among all processes until it expires
 *   (`claimNonce`: one atomic insert on the pair's unique key; an expired claim may be taken again);
 * - `withAnchorLock` runs its function in at most one process at a time (anchoring), and says when another holds it.
 */

/** One entry of `appendMany`, with the leaf hash of its index (computed inside the transaction). */
export interface AccessLogAppend {
  readonly entry: AccessLogInput;
  readonly leafHashOf: (index: number) => string;
}

/** What the gateway appends for one access. */
export interface AccessLogInput {
  /** Milliseconds since the epoch (gateway clock). */
  readonly time: number;
  readonly twinId: string;
  /** The signer of the request (checksummed). */
  readonly reader: string;
  readonly queryType: string;
  readonly category: number;
  readonly purpose: number;
  /** `allowed`, or the refusal code (e.g. `no-consent`, `replayed`). */
  readonly decision: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** The EIP-712 digest of the signed request. */
  readonly requestHash: string;
}

export interface AccessLogEntry extends AccessLogInput {
  readonly index: number;
}

/** An anchored range of the log. */
export interface AccessLogAnchorRecord {
  readonly root: string;
  readonly fromIndex: number;
  readonly toIndex: number;
  readonly transactionHash: string;
  readonly blockNumber: number;
  /** Gateway clock, ms. */
  readonly anchoredAt: number;
}

/** A counter of refusals counted in aggregate: one per period and decision, no twin, no reader. */
export interface RefusalCount {
  /** Start of the period, epoch ms. */
  readonly periodStart: number;
  readonly decision: string;
  readonly count: number;
}

export interface AccessLogStore {
  /** `sqlite` or `postgres`. */
  readonly backend: string;
  /** Resolves once the schema is migrated (every other call waits for it too). */
  ready(): Promise<void>;
  /**
   * Claims `nonce` for `reader` until `expiresAt` (unix seconds), atomically among every process of the store.
   * @returns false when the pair is already claimed and not expired at `nowSec`.
   */
  claimNonce(reader: string, nonce: string, expiresAt: number, nowSec: number): Promise<boolean>;
  /** Deletes the claims expired before `nowSec`; returns how many. */
  pruneNonces(nowSec: number): Promise<number>;
  /** Appends one entry at the next index (gap-free across processes); returns the index. */
  append(entry: AccessLogInput, leafHashOf: (index: number) => string): Promise<number>;
  /**
   * Appends entries at consecutive next indexes, in their order, in one transaction (all or none); returns their
   * indexes. The access log groups the appends that arrive within one event-loop turn into one call.
   */
  appendMany(items: readonly AccessLogAppend[]): Promise<number[]>;
  /**
   * Runs `write` at the end of this event-loop turn, in the store's own flush, before it writes the nonce claims of
   * the turn: an `appendMany` called from `write` then takes those claims into its transaction (one commit a turn for
   * both). Optional: a store without it leaves the access log to schedule its own flush.
   */
  atEndOfTurn?(write: () => void): void;
  /** The number of entries (the next index). */
  count(): Promise<number>;
  /** Entries `fromIndex..toIndex` (inclusive), by index. */
  range(fromIndex: number, toIndex: number): Promise<AccessLogEntry[]>;
  /** A twin's entries not redacted with an index above `afterIndex`, by index, at most `limit`. */
  ofTwin(twinId: string, afterIndex: number, limit: number): Promise<AccessLogEntry[]>;
  /** The stored leaf hashes of `fromIndex..toIndex`, by index. */
  leafHashes(fromIndex: number, toIndex: number): Promise<string[]>;
  /** The anchors whose first index is above `afterFromIndex`, oldest first. */
  anchors(afterFromIndex: number): Promise<AccessLogAnchorRecord[]>;
  insertAnchor(anchor: AccessLogAnchorRecord): Promise<void>;
  /** Runs `fn` unless another process (or call) holds the anchoring lock; null when one does. */
  withAnchorLock<T>(fn: () => Promise<T>): Promise<T | null>;
  /** Adds one to the counter of (`periodStart`, `decision`). */
  countRefusal(periodStart: number, decision: string): Promise<void>;
  refusalCounts(): Promise<RefusalCount[]>;
  /**
   * Redacts a twin's entries: twin id, reader, query type, category, purpose and request digest overwritten;
   * index, time, decision, status and leaf hash kept. Returns the number redacted now.
   */
  eraseTwin(twinId: string): Promise<number>;
  close(): Promise<void>;
}

/** The row columns, shared by both backends. */
export interface EntryRow {
  idx: number;
  at_ms: number;
  twin_id: string;
  reader: string;
  query_type: string;
  category: number;
  purpose: number;
  decision: string;
  status: number;
  request_hash: string;
}

export interface AnchorRow {
  root: string;
  from_idx: number;
  to_idx: number;
  tx_hash: string;
  block_number: number;
  anchored_at: number;
}

export function entryOf(row: EntryRow): AccessLogEntry {
  return {
    index: row.idx,
    time: row.at_ms,
    twinId: row.twin_id,
    reader: row.reader,
    queryType: row.query_type,
    category: row.category,
    purpose: row.purpose,
    decision: row.decision,
    status: row.status,
    requestHash: row.request_hash,
  };
}

export function anchorOf(row: AnchorRow): AccessLogAnchorRecord {
  return {
    root: row.root,
    fromIndex: row.from_idx,
    toIndex: row.to_idx,
    transactionHash: row.tx_hash,
    blockNumber: row.block_number,
    anchoredAt: row.anchored_at,
  };
}

/** The values an entry is stored with (twin id and request digest lower case). */
export function rowOf(index: number, entry: AccessLogInput, leafHash: string): unknown[] {
  return [
    index,
    entry.time,
    entry.twinId.toLowerCase(),
    entry.reader,
    entry.queryType,
    entry.category,
    entry.purpose,
    entry.decision,
    entry.status,
    entry.requestHash.toLowerCase(),
    leafHash,
  ];
}

/** The component name of the access log's migrations. */
export const ACCESS_LOG_COMPONENT = "access-log";
