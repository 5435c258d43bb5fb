import Database from "better-sqlite3";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { TwinLedgerError } from "../errors";

/**
 * The gateway's append-only access log, its nonce memory and its on-chain anchors, in one SQLite file (WAL).
 *
 * - Every access the gateway authenticated (a valid signature), allowed or refused, is one entry: index, time,
 *   twin, reader, query type, category, purpose, decision (`allowed` or the refusal code) and the request's
 *   EIP-712 digest. Never the answer, never the params (only their hash, inside the digest).
 * - Entries are never updated nor deleted: SQLite triggers refuse it.
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
}

interface AnchorRow {
  root: string;
  from_idx: number;
  to_idx: number;
  tx_hash: string;
  block_number: number;
  anchored_at: number;
}

const SCHEMA = `
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
    request_hash TEXT    NOT NULL
  );
  CREATE INDEX IF NOT EXISTS access_log_by_twin ON access_log (twin_id, idx);
  CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;

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
  private readonly selectAnchors: Database.Statement;
  private readonly insertAnchor: Database.Statement;
  /** `reader|nonce` (lower case) → expiry, unix seconds. */
  private readonly nonces = new Map<string, number>();
  private readonly trees = new Map<string, StandardMerkleTree<AccessLogLeaf>>();
  private anchors: AccessLogAnchorRecord[];
  private nextIndex: number;
  private newNonces = 0;
  private anchoring: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Opens (or creates) the log at `path` (a file, or `:memory:`). */
  constructor(path: string) {
    const db = new Database(path);
    try {
      db.pragma("journal_mode = WAL");
      // WAL with synchronous NORMAL: a commit is durable against a crash of the process (the OS has it), and costs
      // no fsync per query; a power loss may lose the last commits, never corrupt the log.
      db.pragma("synchronous = NORMAL");
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw new TwinLedgerError("ACCESS_LOG_OPEN", "the access log database could not be opened", { cause: error });
    }
    this.db = db;
    this.insertEntry = db.prepare(`
      INSERT INTO access_log (idx, at_ms, twin_id, reader, query_type, category, purpose, decision, status,
                              request_hash)
      VALUES (@idx, @at_ms, @twin_id, @reader, @query_type, @category, @purpose, @decision, @status, @request_hash)`);
    this.insertNonce = db.prepare(
      "INSERT INTO nonces (reader, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (reader, nonce) DO NOTHING",
    );
    this.selectRange = db.prepare("SELECT * FROM access_log WHERE idx BETWEEN ? AND ? ORDER BY idx");
    this.selectOfTwin = db.prepare("SELECT * FROM access_log WHERE twin_id = ? ORDER BY idx LIMIT ? OFFSET ?");
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

  /** A twin's entries, oldest first, each with its proof to the anchored root covering it. */
  entriesOf(twinId: string, options: { offset?: number; limit?: number } = {}): ProvenAccessLogEntry[] {
    const rows = this.selectOfTwin.all(twinId.toLowerCase(), options.limit ?? 1000, options.offset ?? 0) as EntryRow[];
    return rows.map((row) => {
      const entry = entryOf(row);
      const anchor = this.anchorCovering(entry.index);
      if (anchor === null) return { entry, leaf: leafOf(entry), anchor: null, proof: null };
      const tree = this.treeOf(anchor);
      return { entry, leaf: leafOf(entry), anchor, proof: tree.getProof(entry.index - anchor.fromIndex) };
    });
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

  private treeOf(anchor: AccessLogAnchorRecord): StandardMerkleTree<AccessLogLeaf> {
    const cached = this.trees.get(anchor.root);
    if (cached !== undefined) return cached;
    const tree = this.buildTree(anchor.fromIndex, anchor.toIndex);
    if (tree.root !== anchor.root) {
      throw new TwinLedgerError("ACCESS_LOG_TAMPERED", `entries ${anchor.fromIndex}..${anchor.toIndex} changed`);
    }
    this.cacheTree(anchor.root, tree);
    return tree;
  }

  private cacheTree(root: string, tree: StandardMerkleTree<AccessLogLeaf>): void {
    if (this.trees.size >= TREE_CACHE_SIZE) this.trees.delete(this.trees.keys().next().value as string);
    this.trees.set(root, tree);
  }

  /** Leaves in index order (`sortLeaves: false`), so an entry's proof is `getProof(index - fromIndex)`. */
  private buildTree(fromIndex: number, toIndex: number): StandardMerkleTree<AccessLogLeaf> {
    const leaves = this.range(fromIndex, toIndex).map(leafOf);
    return StandardMerkleTree.of(leaves, [...ACCESS_LOG_LEAF_ENCODING], { sortLeaves: false });
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
