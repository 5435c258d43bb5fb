import Database from "better-sqlite3";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, keccak256, ZeroAddress } from "ethers";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { TwinLedgerError } from "../errors";

/**
 * The gateway's append-only access log, its nonce memory and its on-chain anchors, in one SQLite file (WAL).
 *
 * - Every access the gateway authenticated (a valid signature), allowed or refused, is one entry: index, time,
 *   twin, reader, query type, category, purpose, decision (`allowed` or the refusal code) and the request's
 *   EIP-712 digest. Never the answer, never the params (only their hash, inside the digest).
 * - Entries are never deleted, and never updated except once, by `eraseTwin` (SQLite triggers refuse anything else).
 * - Each entry keeps its leaf hash, so the anchored trees (and every proof) are rebuilt from the leaf hashes alone.
 *   When a twin is erased, `eraseTwin` reduces its entries to what the audit needs: index, time, decision, status
 *   and leaf hash stay (every anchored root still verifies, the gateway-wide counts per decision and time still add
 *   up); the twin id, reader, query type, category, purpose and request digest are overwritten, with
 *   `secure_delete` on and the WAL checkpointed and truncated, so that they are not left in free pages or the WAL.
 * - Refusals that show no standing of the signer on the twin (a stranger's `no-consent`, `blocked`, an unknown or
 *   erased twin, a stale or replayed request, a refused log read) are not entries: `countRefusal` adds one to a
 *   counter per period and decision, with no twin and no reader (see src/service/rate-limits.ts).
 * - The file is created 0600 (SQLite gives its -wal and -shm files the database file's mode) in a folder that must
 *   be 0700 (created so when missing; an existing folder open to others is refused): give the log its own folder.
 * - The nonces a reader used are kept until their query would be expired anyway, in the same transaction as the
 *   entry, so a restart does not reopen the replay window.
 * - `anchor()` builds an OpenZeppelin StandardMerkleTree over the entries not yet anchored (leaf encoding
 *   `ACCESS_LOG_LEAF_ENCODING`) and hands its root to the caller's on-chain writer
 *   (`TwinUpdateLog.anchorAccessLog(root, fromIndex, toIndex)`); `entriesOf` returns each entry with its proof.
 */

/** The leaf of one entry: `[index, timeMs, twinId, reader, queryType, category, purpose, decision, requestHash]`. */
export const ACCESS_LOG_LEAF_ENCODING = [
  "uint64",
  "uint64",
  "bytes32",
  "address",
  "string",
  "uint32",
  "uint16",
  "string",
  "bytes32",
] as const;

export type AccessLogLeaf = [
  index: string,
  timeMs: string,
  twinId: string,
  reader: string,
  queryType: string,
  category: string,
  purpose: string,
  decision: string,
  requestHash: string,
];

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

/** An entry with the proof of its leaf under the anchored root that covers it (null while not yet anchored). */
export interface ProvenAccessLogEntry {
  readonly entry: AccessLogEntry;
  readonly leaf: AccessLogLeaf;
  readonly anchor: AccessLogAnchorRecord | null;
  readonly proof: readonly string[] | null;
}

/** Writes a root on chain; resolves once mined. */
export type AccessLogAnchorWriter = (
  root: string,
  fromIndex: number,
  toIndex: number,
) => Promise<{ readonly transactionHash: string; readonly blockNumber: number }>;

/** A counter of refusals counted in aggregate (`countRefusal`): one per period and decision, no twin, no reader. */
export interface RefusalCount {
  /** Start of the period, epoch ms. */
  readonly periodStart: number;
  readonly decision: string;
  readonly count: number;
}

export interface AccessLogOptions {
  /** Length of the periods of the refusal counters, ms. Default one hour. */
  readonly refusalPeriodMs?: number;
}

/** A page of a twin's entries: those after `cursor` (an entry index), at most `limit`. */
export interface AccessLogPage {
  readonly entries: ProvenAccessLogEntry[];
  /** The anchors covering the entries of the page (none of the others). */
  readonly anchors: AccessLogAnchorRecord[];
  /** The cursor of the next page (the last index of this one), null when this page is the last. */
  readonly nextCursor: number | null;
}

export const DEFAULT_REFUSAL_PERIOD_MS = 3_600_000;
export const DEFAULT_ACCESS_LOG_PAGE = 100;
export const MAX_ACCESS_LOG_PAGE = 500;

interface EntryRow {
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
  leaf_hash: string;
  redacted: number;
}

interface AnchorRow {
  root: string;
  from_idx: number;
  to_idx: number;
  tx_hash: string;
  block_number: number;
  anchored_at: number;
}

/** The schema's version (`PRAGMA user_version`); 0 is the first one (no leaf hashes, no redaction). */
const SCHEMA_VERSION = 2;

const TABLES = `
  CREATE TABLE IF NOT EXISTS access_log (
    idx          INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    twin_id      TEXT    NOT NULL,
    reader       TEXT    NOT NULL,
    query_type   TEXT    NOT NULL,
    category     INTEGER NOT NULL,
    purpose      INTEGER NOT NULL,
    decision     TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    request_hash TEXT    NOT NULL,
    leaf_hash    TEXT,
    redacted     INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS access_log_by_twin ON access_log (twin_id, idx);

  CREATE TABLE IF NOT EXISTS access_log_anchors (
    root         TEXT    PRIMARY KEY,
    from_idx     INTEGER NOT NULL UNIQUE,
    to_idx       INTEGER NOT NULL,
    tx_hash      TEXT    NOT NULL,
    block_number INTEGER NOT NULL,
    anchored_at  INTEGER NOT NULL
  );

  CREATE TABLE IF NOT EXISTS nonces (
    reader     TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (reader, nonce)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at);

  CREATE TABLE IF NOT EXISTS refusal_counts (
    period_start INTEGER NOT NULL,
    decision     TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (period_start, decision)
  ) WITHOUT ROWID;
`;

/**
 * No delete; the one update allowed is the redaction of an erased twin's entry (`eraseTwin`): once, keeping the
 * index, time, decision, status and leaf hash.
 */
const TRIGGERS = `
  DROP TRIGGER IF EXISTS access_log_no_update;
  DROP TRIGGER IF EXISTS access_log_no_delete;
  CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
    WHEN NOT (OLD.redacted = 0 AND NEW.redacted = 1 AND NEW.idx = OLD.idx AND NEW.at_ms = OLD.at_ms
              AND NEW.decision = OLD.decision AND NEW.status = OLD.status AND NEW.leaf_hash IS OLD.leaf_hash
              AND OLD.leaf_hash IS NOT NULL)
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
  CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
`;

/** Trees of recently asked anchors, by root; rebuilt from the entries when evicted. */
const TREE_CACHE_SIZE = 16;
/** Sweep expired nonces from memory and disk after this many new ones. */
const NONCE_SWEEP_EVERY = 4096;

export class AccessLog {
  private readonly db: Database.Database;
  private readonly insertEntry: Database.Statement;
  private readonly insertNonce: Database.Statement;
  private readonly appendTx: (entry: AccessLogInput, nonce: NonceUse | null) => number;
  private readonly selectRange: Database.Statement;
  private readonly selectOfTwin: Database.Statement;
  private readonly selectLeafHashes: Database.Statement;
  private readonly countRefusalStmt: Database.Statement;
  private readonly countNonceTx: (periodStart: number, decision: string, nonce: NonceUse | null) => void;
  private readonly eraseTx: (twinId: string) => number;
  private readonly refusalPeriodMs: number;
  private readonly selectAnchors: Database.Statement;
  private readonly insertAnchor: Database.Statement;
  /** `reader|nonce` (lower case) → expiry, unix seconds. */
  private readonly nonces = new Map<string, number>();
  private readonly trees = new Map<string, SimpleMerkleTree>();
  private anchors: AccessLogAnchorRecord[];
  private nextIndex: number;
  private newNonces = 0;
  private anchoring: Promise<unknown> = Promise.resolve();
  private closed = false;

  /**
   * Opens (or creates) the log at `path` (a file, or `:memory:`). A file is created 0600 and a missing folder 0700;
   * an existing folder open to group or others is refused (ACCESS_LOG_FOLDER_OPEN). A log of the first schema gets
   * its leaf hashes and the redaction trigger.
   */
  constructor(path: string, options: AccessLogOptions = {}) {
    this.refusalPeriodMs = options.refusalPeriodMs ?? DEFAULT_REFUSAL_PERIOD_MS;
    if (!Number.isSafeInteger(this.refusalPeriodMs) || this.refusalPeriodMs <= 0) {
      throw new TwinLedgerError("ACCESS_LOG_OPTIONS", "refusalPeriodMs must be a positive integer");
    }
    if (path !== ":memory:" && !path.startsWith("file:")) protectFiles(path);
    const db = new Database(path);
    try {
      db.pragma("journal_mode = WAL");
      // WAL with synchronous NORMAL: a commit is durable against a crash of the process (the OS has it), and costs
      // no fsync per query; a power loss may lose the last commits, never corrupt the log.
      db.pragma("synchronous = NORMAL");
      // Overwritten and deleted content (the redacted fields of an erased twin) is zeroed, not left in free pages.
      db.pragma("secure_delete = ON");
      migrate(db);
    } catch (error) {
      db.close();
      throw new TwinLedgerError("ACCESS_LOG_OPEN", "the access log database could not be opened", { cause: error });
    }
    this.db = db;
    this.insertEntry = db.prepare(`
      INSERT INTO access_log (idx, at_ms, twin_id, reader, query_type, category, purpose, decision, status,
                              request_hash, leaf_hash)
      VALUES (@idx, @at_ms, @twin_id, @reader, @query_type, @category, @purpose, @decision, @status, @request_hash,
              @leaf_hash)`);
    this.insertNonce = db.prepare(
      "INSERT INTO nonces (reader, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (reader, nonce) DO NOTHING",
    );
    this.selectRange = db.prepare("SELECT * FROM access_log WHERE idx BETWEEN ? AND ? ORDER BY idx");
    this.selectOfTwin = db.prepare(
      "SELECT * FROM access_log WHERE twin_id = ? AND idx > ? AND redacted = 0 ORDER BY idx LIMIT ?",
    );
    this.selectLeafHashes = db.prepare("SELECT leaf_hash FROM access_log WHERE idx BETWEEN ? AND ? ORDER BY idx");
    this.countRefusalStmt = db.prepare(`
      INSERT INTO refusal_counts (period_start, decision, count) VALUES (?, ?, 1)
      ON CONFLICT (period_start, decision) DO UPDATE SET count = count + 1`);
    this.countNonceTx = db.transaction((periodStart: number, decision: string, nonce: NonceUse | null) => {
      this.countRefusalStmt.run(periodStart, decision);
      if (nonce !== null) this.insertNonce.run(nonce.reader, nonce.nonce, nonce.expiresAt);
    });
    const selectTwinRows = db.prepare("SELECT idx FROM access_log WHERE twin_id = ? AND redacted = 0");
    const redact = db.prepare(`
      UPDATE access_log SET twin_id = '', reader = '${ZeroAddress}', query_type = '', category = 0, purpose = 0,
                            request_hash = '', redacted = 1
      WHERE idx = ?`);
    this.eraseTx = db.transaction((twinId: string): number => {
      const rows = selectTwinRows.all(twinId) as { idx: number }[];
      for (const row of rows) redact.run(row.idx);
      return rows.length;
    });
    this.selectAnchors = db.prepare("SELECT * FROM access_log_anchors ORDER BY from_idx");
    this.insertAnchor = db.prepare(`
      INSERT INTO access_log_anchors (root, from_idx, to_idx, tx_hash, block_number, anchored_at)
      VALUES (@root, @from_idx, @to_idx, @tx_hash, @block_number, @anchored_at)`);
    this.appendTx = db.transaction((entry: AccessLogInput, nonce: NonceUse | null): number => {
      const index = this.nextIndex;
      this.insertEntry.run({
        idx: index,
        at_ms: entry.time,
        twin_id: entry.twinId.toLowerCase(),
        reader: entry.reader,
        query_type: entry.queryType,
        category: entry.category,
        purpose: entry.purpose,
        decision: entry.decision,
        status: entry.status,
        request_hash: entry.requestHash.toLowerCase(),
        leaf_hash: leafHashOf(leafOf({ ...entry, index })),
      });
      if (nonce !== null) this.insertNonce.run(nonce.reader, nonce.nonce, nonce.expiresAt);
      this.nextIndex = index + 1;
      return index;
    });

    const last = db.prepare("SELECT MAX(idx) AS m FROM access_log").get() as { m: number | null };
    this.nextIndex = last.m === null ? 0 : last.m + 1;
    this.anchors = (this.selectAnchors.all() as AnchorRow[]).map(anchorOf);
    const nowSec = Math.floor(Date.now() / 1000);
    db.prepare("DELETE FROM nonces WHERE expires_at < ?").run(nowSec);
    for (const row of db.prepare("SELECT reader, nonce, expires_at FROM nonces").iterate() as IterableIterator<{
      reader: string;
      nonce: string;
      expires_at: number;
    }>) {
      this.nonces.set(`${row.reader}|${row.nonce}`, row.expires_at);
    }
  }

  /** Number of entries. */
  get size(): number {
    return this.nextIndex;
  }

  /** The anchored ranges, oldest first. */
  anchored(): readonly AccessLogAnchorRecord[] {
    return this.anchors;
  }

  /**
   * Claims `nonce` for `reader` until `expiresAt` (unix seconds): false if it is already claimed and not expired.
   * Synchronous, so two concurrent requests with one nonce cannot both pass. The claim is persisted with the
   * access's entry (`append(entry, use)`).
   */
  claimNonce(reader: string, nonce: string, expiresAt: number, nowSec: number): NonceUse | null {
    const key = `${reader.toLowerCase()}|${nonce.toLowerCase()}`;
    const seen = this.nonces.get(key);
    if (seen !== undefined && seen >= nowSec) return null;
    this.nonces.set(key, expiresAt);
    if (++this.newNonces >= NONCE_SWEEP_EVERY) this.sweepNonces(nowSec);
    return { reader: reader.toLowerCase(), nonce: nonce.toLowerCase(), expiresAt };
  }

  /** Appends one entry (and persists the nonce claim, if any) in one transaction; returns its index. */
  append(entry: AccessLogInput, nonce: NonceUse | null = null): number {
    this.assertOpen();
    return this.appendTx(entry, nonce);
  }

  /** Entries `from..to` (inclusive). */
  range(fromIndex: number, toIndex: number): AccessLogEntry[] {
    return (this.selectRange.all(fromIndex, toIndex) as EntryRow[]).map(entryOf);
  }

  /**
   * Anchors the entries not anchored yet: builds their tree, calls `write(root, from, to)` and records the anchor.
   * Calls are serialized. Resolves with the new anchor, or null when there is nothing new.
   */
  anchor(write: AccessLogAnchorWriter, now: () => number = Date.now): Promise<AccessLogAnchorRecord | null> {
    const run = this.anchoring.then(async () => {
      this.assertOpen();
      const last = this.anchors[this.anchors.length - 1];
      const fromIndex = last === undefined ? 0 : last.toIndex + 1;
      const toIndex = this.nextIndex - 1;
      if (toIndex < fromIndex) return null;
      const tree = this.buildTree(fromIndex, toIndex);
      const { transactionHash, blockNumber } = await write(tree.root, fromIndex, toIndex);
      const record: AccessLogAnchorRecord = {
        root: tree.root,
        fromIndex,
        toIndex,
        transactionHash,
        blockNumber,
        anchoredAt: now(),
      };
      this.assertOpen();
      this.insertAnchor.run({
        root: record.root,
        from_idx: fromIndex,
        to_idx: toIndex,
        tx_hash: transactionHash,
        block_number: blockNumber,
        anchored_at: record.anchoredAt,
      });
      this.anchors = [...this.anchors, record];
      this.cacheTree(tree.root, tree);
      return record;
    });
    this.anchoring = run.catch(() => undefined);
    return run;
  }

  /**
   * Adds one to the counter of `decision` in the period of `time` (no twin, no reader), and persists the nonce
   * claim, if any, in the same transaction: a refusal counted in aggregate instead of appended as an entry.
   */
  countRefusal(time: number, decision: string, nonce: NonceUse | null = null): void {
    this.assertOpen();
    this.countNonceTx(time - (time % this.refusalPeriodMs), decision, nonce);
  }

  /** The refusal counters, oldest period first. */
  refusalCounts(): RefusalCount[] {
    const rows = this.db
      .prepare("SELECT period_start, decision, count FROM refusal_counts ORDER BY period_start, decision")
      .all() as { period_start: number; decision: string; count: number }[];
    return rows.map((r) => ({ periodStart: r.period_start, decision: r.decision, count: r.count }));
  }

  /**
   * Reduces an erased twin's entries to what the audit needs: index, time, decision, status and leaf hash stay; the
   * twin id, reader, query type, category, purpose and request digest are overwritten (zeroed on disk by
   * `secure_delete`, the WAL checkpointed and truncated). Anchored roots and other twins' proofs still verify (trees
   * are rebuilt from the leaf hashes). Idempotent; returns the number of entries redacted now.
   */
  eraseTwin(twinId: string): number {
    this.assertOpen();
    const redacted = this.eraseTx(twinId.toLowerCase());
    if (redacted > 0) this.db.pragma("wal_checkpoint(TRUNCATE)");
    return redacted;
  }

  /**
   * A page of a twin's entries, oldest first, after `cursor` (an entry index; -1 or absent: from the start), each
   * with its proof to the anchored root covering it, and the anchors of the page only: nothing about other twins'
   * entries beyond what their global indexes imply (see the README).
   */
  pageOf(twinId: string, options: { cursor?: number; limit?: number } = {}): AccessLogPage {
    const limit = Math.min(MAX_ACCESS_LOG_PAGE, Math.max(1, options.limit ?? DEFAULT_ACCESS_LOG_PAGE));
    const rows = this.selectOfTwin.all(twinId.toLowerCase(), options.cursor ?? -1, limit) as EntryRow[];
    const anchors = new Map<string, AccessLogAnchorRecord>();
    const entries = rows.map((row): ProvenAccessLogEntry => {
      const entry = entryOf(row);
      const anchor = this.anchorCovering(entry.index);
      if (anchor === null) return { entry, leaf: leafOf(entry), anchor: null, proof: null };
      anchors.set(anchor.root, anchor);
      const tree = this.treeOf(anchor);
      return { entry, leaf: leafOf(entry), anchor, proof: tree.getProof(entry.index - anchor.fromIndex) };
    });
    const last = rows[rows.length - 1];
    return {
      entries,
      anchors: [...anchors.values()],
      nextCursor: rows.length === limit && last !== undefined ? last.idx : null,
    };
  }

  /** A twin's entries (the first page of `pageOf`, `limit` at most MAX_ACCESS_LOG_PAGE). */
  entriesOf(twinId: string, options: { cursor?: number; limit?: number } = {}): ProvenAccessLogEntry[] {
    return this.pageOf(twinId, options).entries;
  }

  /** Waits for an anchoring in progress and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.anchoring;
    this.closed = true;
    this.db.close();
  }

  private anchorCovering(index: number): AccessLogAnchorRecord | null {
    let lo = 0;
    let hi = this.anchors.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const anchor = this.anchors[mid];
      if (index < anchor.fromIndex) hi = mid - 1;
      else if (index > anchor.toIndex) lo = mid + 1;
      else return anchor;
    }
    return null;
  }

  private treeOf(anchor: AccessLogAnchorRecord): SimpleMerkleTree {
    const cached = this.trees.get(anchor.root);
    if (cached !== undefined) return cached;
    const tree = this.buildTree(anchor.fromIndex, anchor.toIndex);
    if (tree.root !== anchor.root) {
      throw new TwinLedgerError("ACCESS_LOG_TAMPERED", `entries ${anchor.fromIndex}..${anchor.toIndex} changed`);
    }
    this.cacheTree(anchor.root, tree);
    return tree;
  }

  private cacheTree(root: string, tree: SimpleMerkleTree): void {
    if (this.trees.size >= TREE_CACHE_SIZE) this.trees.delete(this.trees.keys().next().value as string);
    this.trees.set(root, tree);
  }

  /**
   * The tree over the stored leaf hashes, in index order (`sortLeaves: false`), so an entry's proof is
   * `getProof(index - fromIndex)`. A SimpleMerkleTree over StandardMerkleTree leaf hashes has the same nodes, root
   * and proofs as the StandardMerkleTree of the leaves (`verifyAccessLogProof` checks them as such), and needs no
   * field of a redacted entry.
   */
  private buildTree(fromIndex: number, toIndex: number): SimpleMerkleTree {
    const hashes = (this.selectLeafHashes.all(fromIndex, toIndex) as { leaf_hash: string }[]).map((r) => r.leaf_hash);
    return SimpleMerkleTree.of(hashes, { sortLeaves: false });
  }

  private sweepNonces(nowSec: number): void {
    this.newNonces = 0;
    for (const [key, expiresAt] of this.nonces) if (expiresAt < nowSec) this.nonces.delete(key);
    if (!this.closed) this.db.prepare("DELETE FROM nonces WHERE expires_at < ?").run(nowSec);
  }

  private assertOpen(): void {
    if (this.closed) throw new TwinLedgerError("ACCESS_LOG_CLOSED", "the access log is closed");
  }
}

/** A nonce claim, persisted with the entry of the access that used it. */
export interface NonceUse {
  readonly reader: string;
  readonly nonce: string;
  readonly expiresAt: number;
}

/** The leaf values of an entry, as the tree (and any verifier) encodes them. */
export function leafOf(entry: AccessLogEntry): AccessLogLeaf {
  return [
    String(entry.index),
    String(entry.time),
    entry.twinId.toLowerCase(),
    entry.reader,
    entry.queryType,
    String(entry.category),
    String(entry.purpose),
    entry.decision,
    entry.requestHash.toLowerCase(),
  ];
}

/** The StandardMerkleTree hash of a leaf: keccak256(keccak256(abi.encode(ACCESS_LOG_LEAF_ENCODING, leaf))). */
export function leafHashOf(leaf: AccessLogLeaf): string {
  return keccak256(keccak256(ABI.encode([...ACCESS_LOG_LEAF_ENCODING], leaf)));
}

const ABI = AbiCoder.defaultAbiCoder();

/** Whether `proof` proves `leaf` under `root` (what a patient or auditor checks against the on-chain anchor). */
export function verifyAccessLogProof(root: string, leaf: AccessLogLeaf, proof: readonly string[]): boolean {
  return StandardMerkleTree.verify(root, [...ACCESS_LOG_LEAF_ENCODING], leaf, [...proof]);
}

function entryOf(row: EntryRow): AccessLogEntry {
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

function anchorOf(row: AnchorRow): AccessLogAnchorRecord {
  return {
    root: row.root,
    fromIndex: row.from_idx,
    toIndex: row.to_idx,
    transactionHash: row.tx_hash,
    blockNumber: row.block_number,
    anchoredAt: row.anchored_at,
  };
}

/**
 * Creates the log's folder 0700 when missing, refuses an existing one that group or others may enter (a folder the
 * gateway did not create is never chmod-ed: it may be shared), and creates the file 0600 before SQLite opens it
 * (an existing file, and its -wal and -shm, are tightened to 0600).
 */
function protectFiles(path: string): void {
  const folder = dirname(resolve(path));
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
  else if ((statSync(folder).mode & 0o077) !== 0) {
    throw new TwinLedgerError(
      "ACCESS_LOG_FOLDER_OPEN",
      "the access log's folder is open to group or others: give the log a folder of its own, mode 0700",
    );
  }
  closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}

/**
 * Brings the database to SCHEMA_VERSION in one transaction: the tables, the leaf hashes of entries written by the
 * first schema (computed from their fields, before the redaction trigger replaces the old one), the triggers.
 */
function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new TwinLedgerError("ACCESS_LOG_VERSION", `the access log has schema ${version}, newer than this gateway`);
  }
  db.transaction(() => {
    const existing = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'access_log'").get();
    if (existing !== undefined && version < 2) {
      const columns = (db.prepare("PRAGMA table_info(access_log)").all() as { name: string }[]).map((c) => c.name);
      db.exec("DROP TRIGGER IF EXISTS access_log_no_update");
      if (!columns.includes("leaf_hash")) db.exec("ALTER TABLE access_log ADD COLUMN leaf_hash TEXT");
      if (!columns.includes("redacted")) {
        db.exec("ALTER TABLE access_log ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0");
      }
      const fill = db.prepare("UPDATE access_log SET leaf_hash = ? WHERE idx = ?");
      for (const row of db.prepare("SELECT * FROM access_log WHERE leaf_hash IS NULL").all() as EntryRow[]) {
        fill.run(leafHashOf(leafOf(entryOf(row))), row.idx);
      }
    }
    db.exec(TABLES);
    db.exec(TRIGGERS);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
