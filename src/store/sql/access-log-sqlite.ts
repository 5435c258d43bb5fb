import Database from "better-sqlite3";
import { ZeroAddress } from "ethers";
import { randomBytes } from "node:crypto";
import {
  ACCESS_LOG_COMPONENT,
  anchorOf,
  entryOf,
  rowOf,
  type AccessLogAnchorRecord,
  type AccessLogAppend,
  type AccessLogEntry,
  type AccessLogInput,
  type AccessLogStore,
  type AnchorRow,
  type EntryRow,
  type RefusalCount,
} from "./access-log-store";
import { SqlStoreError } from "./errors";
import { migrateSqlite, type SqliteMigration } from "./migrations";
import { openSqliteFile } from "./sqlite-file";

/**
 * The access log in one SQLite file (WAL, `synchronous = NORMAL`, `secure_delete = ON`), the embedded default:
 * nothing to start. The file is created 0600 in a folder that must be 0700 (see {@link openSqliteFile}).
 *
 * @dev better-sqlite3 is synchronous: each call runs to completion before any other JavaScript, so in one process
 * a nonce claim or an append is atomic by construction; across processes sharing the file, appends run in
 * `BEGIN IMMEDIATE` transactions and claims are one `INSERT ... ON CONFLICT` statement, atomic in SQLite too.
 */
export interface SqliteAccessLogOptions {
  /**
   * The leaf hash of an entry written by the first schema (before leaf hashes were stored), filled in by the
   * first migration. Without it such a file is refused.
   */
  readonly legacyLeafHash?: (entry: AccessLogEntry) => string;
}

/** Schema 2 of the log (as `PRAGMA user_version = 2` had it), with the first schema's upgrade. */
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

/** No delete; the one update allowed is the redaction of an entry (`eraseTwin`), once, keeping its proof fields. */
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

function migrations(options: SqliteAccessLogOptions): SqliteMigration[] {
  return [
    {
      version: 1,
      name: "entries with leaf hashes, anchors, nonces, refusal counters (user_version 2 of earlier gateways)",
      up: (db) => {
        const version = db.pragma("user_version", { simple: true }) as number;
        const existing = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'access_log'").get();
        if (existing !== undefined && version < 2) upgradeFirstSchema(db, options);
        db.exec(TABLES);
        db.exec(TRIGGERS);
        db.pragma("user_version = 2");
      },
    },
    {
      version: 2,
      name: "anchoring lease, so that one of several processes sharing the file anchors at a time",
      up: (db) => {
        db.exec(`CREATE TABLE IF NOT EXISTS anchor_lease (
          one      INTEGER PRIMARY KEY CHECK (one = 1),
          holder   TEXT    NOT NULL,
          until_ms INTEGER NOT NULL
        )`);
      },
    },
  ];
}

/** Adds the leaf hashes (from each entry's fields) and the redaction flag to a log of the first schema. */
function upgradeFirstSchema(db: Database.Database, options: SqliteAccessLogOptions): void {
  const columns = (db.prepare("PRAGMA table_info(access_log)").all() as { name: string }[]).map((c) => c.name);
  db.exec("DROP TRIGGER IF EXISTS access_log_no_update");
  if (!columns.includes("leaf_hash")) db.exec("ALTER TABLE access_log ADD COLUMN leaf_hash TEXT");
  if (!columns.includes("redacted")) db.exec("ALTER TABLE access_log ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0");
  const rows = db.prepare("SELECT * FROM access_log WHERE leaf_hash IS NULL").all() as EntryRow[];
  if (rows.length === 0) return;
  if (options.legacyLeafHash === undefined) {
    throw new SqlStoreError("STORE_OPEN", "the log has entries without leaf hashes and no way to compute them");
  }
  const fill = db.prepare("UPDATE access_log SET leaf_hash = ? WHERE idx = ?");
  for (const row of rows) fill.run(options.legacyLeafHash(entryOf(row)), row.idx);
}

/** The longest an anchoring may hold the lease (an on-chain write and its receipt). */
const ANCHOR_LEASE_MS = 10 * 60_000;

/** Nonce claims written in one transaction at most. */
const MAX_CLAIM_GROUP = 512;

interface TurnWritten {
  readonly claimed: boolean[];
  readonly indexes: number[];
}

interface PendingClaim {
  readonly reader: string;
  readonly nonce: string;
  readonly expiresAt: number;
  readonly nowSec: number;
  resolve(claimed: boolean): void;
  reject(error: unknown): void;
}

export class SqliteAccessLogStore implements AccessLogStore {
  readonly backend = "sqlite";
  readonly #db: Database.Database;
  readonly #q: ReturnType<typeof statements>;
  /** One transaction: nonce claims, then appends (either list may be empty). */
  readonly #write: (claims: readonly PendingClaim[], items: readonly AccessLogAppend[]) => TurnWritten;
  readonly #erase: (twinId: string) => number;
  /** Nonce claims waiting for the end of this event-loop turn (see `claimNonce`). */
  #claims: PendingClaim[] = [];
  /** Writes asked for the end of this turn (`atEndOfTurn`), run before the claims left are written. */
  #turnWrites: (() => void)[] = [];
  #flushScheduled = false;
  #closed = false;

  /**
   * Opens (or creates) the log at `path` (a file, or `:memory:`), migrated to the last version. A file is created
   * 0600 and a missing folder 0700; an existing folder open to group or others is refused (ACCESS_LOG_FOLDER_OPEN).
   */
  constructor(path: string, options: SqliteAccessLogOptions = {}) {
    const db = openSqliteFile(path, "ACCESS_LOG");
    try {
      migrateSqlite(db, ACCESS_LOG_COMPONENT, migrations(options));
    } catch (error) {
      db.close();
      if (error instanceof SqlStoreError && error.code === "STORE_VERSION") throw error;
      throw new SqlStoreError("STORE_OPEN", "the access log database could not be opened", { cause: error });
    }
    this.#db = db;
    const q = statements(db);
    this.#q = q;
    this.#write = db.transaction((claims: readonly PendingClaim[], items: readonly AccessLogAppend[]): TurnWritten => {
      const claimed = claims.map(
        ({ reader, nonce, expiresAt, nowSec }) => q.claim.run({ reader, nonce, expiresAt, nowSec }).changes === 1,
      );
      if (items.length === 0) return { claimed, indexes: [] };
      const index = (q.last.get() as { m: number | null }).m;
      const first = index === null ? 0 : index + 1;
      const indexes = items.map(({ entry, leafHashOf }, k) => {
        q.insertEntry.run(...rowOf(first + k, entry, leafHashOf(first + k)));
        return first + k;
      });
      return { claimed, indexes };
    }).immediate;
    this.#erase = db.transaction((twinId: string): number => q.redact.run(twinId).changes);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * @dev The claims of one event-loop turn are written together, in arrival order, in one transaction (one WAL
   * commit instead of one a claim: the commit was most of a claim's cost under load). Each claim is still one
   * `INSERT ... ON CONFLICT` whose changed-row count says who won, and a claim resolves only once its transaction
   * committed, so a nonce is stored before the request it admits goes on; if the transaction fails, every claim of
   * the group rejects and none is stored. An append in that turn takes the claims waiting into its own transaction
   * (one commit for both).
   */
  claimNonce(reader: string, nonce: string, expiresAt: number, nowSec: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#run(() => undefined); // a closed store rejects at once
      this.#claims.push({
        reader: reader.toLowerCase(),
        nonce: nonce.toLowerCase(),
        expiresAt,
        nowSec,
        resolve,
        reject,
      });
      this.#scheduleFlush();
    });
  }

  /**
   * @dev The access log's appends of the turn run here, before the claims left: `appendMany` takes the claims
   * waiting into its transaction, so a turn with both commits once.
   */
  atEndOfTurn(write: () => void): void {
    this.#turnWrites.push(write);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flushTurn());
  }

  #flushTurn(): void {
    this.#flushScheduled = false;
    for (const write of this.#turnWrites.splice(0)) {
      try {
        write();
      } catch {
        // a write answers its own callers; the others and the claims still go
      }
    }
    while (this.#claims.length > 0) {
      try {
        this.#writeTurn([]);
      } catch {
        // the group's claims were rejected with the error
      }
    }
  }

  /** Writes `items` with the nonce claims waiting (MAX_CLAIM_GROUP at most) in one transaction; answers the claims. */
  #writeTurn(items: readonly AccessLogAppend[]): number[] {
    const claims = this.#claims.splice(0, MAX_CLAIM_GROUP);
    let written: TurnWritten;
    try {
      written = this.#run(() => this.#write(claims, items));
    } catch (error) {
      for (const claim of claims) claim.reject(error);
      throw error;
    }
    claims.forEach((claim, k) => claim.resolve(written.claimed[k]));
    return written.indexes;
  }

  async pruneNonces(nowSec: number): Promise<number> {
    return this.#run(() => this.#q.prune.run(nowSec).changes);
  }

  async append(entry: AccessLogInput, leafHashOf: (index: number) => string): Promise<number> {
    return this.#writeTurn([{ entry, leafHashOf }])[0];
  }

  async appendMany(items: readonly AccessLogAppend[]): Promise<number[]> {
    return this.#writeTurn(items);
  }

  async count(): Promise<number> {
    return this.#run(() => {
      const { m } = this.#q.last.get() as { m: number | null };
      return m === null ? 0 : m + 1;
    });
  }

  async range(fromIndex: number, toIndex: number): Promise<AccessLogEntry[]> {
    return this.#run(() => (this.#q.range.all(fromIndex, toIndex) as EntryRow[]).map(entryOf));
  }

  async ofTwin(twinId: string, afterIndex: number, limit: number): Promise<AccessLogEntry[]> {
    return this.#run(() => (this.#q.ofTwin.all(twinId.toLowerCase(), afterIndex, limit) as EntryRow[]).map(entryOf));
  }

  async leafHashes(fromIndex: number, toIndex: number): Promise<string[]> {
    return this.#run(() =>
      (this.#q.leafHashes.all(fromIndex, toIndex) as { leaf_hash: string }[]).map((r) => r.leaf_hash),
    );
  }

  async anchors(afterFromIndex: number): Promise<AccessLogAnchorRecord[]> {
    return this.#run(() => (this.#q.anchors.all(afterFromIndex) as AnchorRow[]).map(anchorOf));
  }

  async insertAnchor(a: AccessLogAnchorRecord): Promise<void> {
    this.#run(() =>
      this.#q.insertAnchor.run(a.root, a.fromIndex, a.toIndex, a.transactionHash, a.blockNumber, a.anchoredAt),
    );
  }

  /**
   * Runs `fn` holding the file's anchoring lease (a row with a holder and an end, taken only when free or expired,
   * so a process that died holding it delays the next anchoring by {@link ANCHOR_LEASE_MS} at most).
   */
  async withAnchorLock<T>(fn: () => Promise<T>): Promise<T | null> {
    const holder = randomBytes(16).toString("hex");
    const now = Date.now();
    if (this.#run(() => this.#q.takeLease.run({ holder, until: now + ANCHOR_LEASE_MS, now }).changes) !== 1)
      return null;
    try {
      return await fn();
    } finally {
      if (!this.#closed) this.#q.dropLease.run(holder);
    }
  }

  async countRefusal(periodStart: number, decision: string): Promise<void> {
    this.#run(() => this.#q.countRefusal.run(periodStart, decision));
  }

  async refusalCounts(): Promise<RefusalCount[]> {
    return this.#run(() =>
      (this.#q.refusalCounts.all() as { period_start: number; decision: string; count: number }[]).map((r) => ({
        periodStart: r.period_start,
        decision: r.decision,
        count: r.count,
      })),
    );
  }

  /** Redacts, then checkpoints and truncates the WAL: with `secure_delete`, the old values leave the files. */
  async eraseTwin(twinId: string): Promise<number> {
    return this.#run(() => {
      const redacted = this.#erase(twinId.toLowerCase());
      if (redacted > 0) this.#db.pragma("wal_checkpoint(TRUNCATE)");
      return redacted;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flushTurn(); // the appends and claims of this turn are written (and answered) before the file closes
    this.#closed = true;
    this.#db.close();
  }

  #run<T>(fn: () => T): T {
    if (this.#closed) throw new SqlStoreError("STORE_CLOSED", "the access log is closed");
    return fn();
  }
}

function statements(db: Database.Database) {
  return {
    last: db.prepare("SELECT MAX(idx) AS m FROM access_log"),
    insertEntry: db.prepare(`
      INSERT INTO access_log (idx, at_ms, twin_id, reader, query_type, category, purpose, decision, status,
                              request_hash, leaf_hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // A claim expired at `nowSec` is taken again; a live one is not touched (no row changed).
    claim: db.prepare(`
      INSERT INTO nonces (reader, nonce, expires_at) VALUES (@reader, @nonce, @expiresAt)
      ON CONFLICT (reader, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at < @nowSec`),
    prune: db.prepare("DELETE FROM nonces WHERE expires_at < ?"),
    range: db.prepare("SELECT * FROM access_log WHERE idx BETWEEN ? AND ? ORDER BY idx"),
    ofTwin: db.prepare("SELECT * FROM access_log WHERE twin_id = ? AND idx > ? AND redacted = 0 ORDER BY idx LIMIT ?"),
    leafHashes: db.prepare("SELECT leaf_hash FROM access_log WHERE idx BETWEEN ? AND ? ORDER BY idx"),
    anchors: db.prepare("SELECT * FROM access_log_anchors WHERE from_idx > ? ORDER BY from_idx"),
    insertAnchor: db.prepare(`
      INSERT INTO access_log_anchors (root, from_idx, to_idx, tx_hash, block_number, anchored_at)
      VALUES (?, ?, ?, ?, ?, ?)`),
    countRefusal: db.prepare(`
      INSERT INTO refusal_counts (period_start, decision, count) VALUES (?, ?, 1)
      ON CONFLICT (period_start, decision) DO UPDATE SET count = count + 1`),
    refusalCounts: db.prepare("SELECT * FROM refusal_counts ORDER BY period_start, decision"),
    takeLease: db.prepare(`
      INSERT INTO anchor_lease (one, holder, until_ms) VALUES (1, @holder, @until)
      ON CONFLICT (one) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
      WHERE anchor_lease.until_ms < @now`),
    dropLease: db.prepare("DELETE FROM anchor_lease WHERE holder = ?"),
    redact: db.prepare(`
      UPDATE access_log SET twin_id = '', reader = '${ZeroAddress}', query_type = '', category = 0, purpose = 0,
                            request_hash = '', redacted = 1
      WHERE twin_id = ? AND redacted = 0`),
  };
}
