import { ZeroAddress } from "ethers";
import { escapeLiteral, type QueryResult } from "pg";
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
import type { PostgresMigration } from "./migrations";
import { PostgresNonceClaims } from "./nonce-claims-postgres";
import { PostgresDatabase, type PostgresOptions } from "./postgres";

/**
 * The access log in PostgreSQL, shared by the replicas of one operator's gateway.
 *
 * @dev Indexes come from one counter row (`access_log_head`) incremented in the append's transaction: its row lock
 * orders appends across processes and a rolled-back append gives its index back, so indexes stay gap-free (a
 * sequence would leave holes, and a hole is a leaf no tree can prove). Nonce claims are
 * `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`, those of one event-loop turn in one statement
 * (PostgresNonceClaims): the unique key makes one claimant win among all replicas.
 * Anchoring takes a session advisory lock with `pg_try_advisory_lock`, so one replica anchors a range while the
 * others skip; the lock goes with its connection if the replica dies.
 *
 * Erasure: PostgreSQL keeps the overwritten values in dead row versions until VACUUM reclaims them and in the WAL
 * until it is recycled (no `secure_delete` equivalent); `eraseTwin` runs a VACUUM of the table after redacting.
 */
const MIGRATIONS: PostgresMigration[] = [
  {
    version: 1,
    name: "entries with leaf hashes and a gap-free head, anchors, nonces, refusal counters, append-only trigger",
    up: async (client) => {
      await client.query(`
        CREATE TABLE access_log (
          idx          BIGINT  PRIMARY KEY,
          at_ms        BIGINT  NOT NULL,
          twin_id      TEXT    NOT NULL,
          reader       TEXT    NOT NULL,
          query_type   TEXT    NOT NULL,
          category     BIGINT  NOT NULL,
          purpose      INTEGER NOT NULL,
          decision     TEXT    NOT NULL,
          status       INTEGER NOT NULL,
          request_hash TEXT    NOT NULL,
          leaf_hash    TEXT    NOT NULL,
          redacted     BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX access_log_by_twin ON access_log (twin_id, idx);
        CREATE TABLE access_log_head (
          one      BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
          next_idx BIGINT  NOT NULL
        );
        INSERT INTO access_log_head (one, next_idx) VALUES (true, 0);
        CREATE TABLE access_log_anchors (
          root         TEXT   PRIMARY KEY,
          from_idx     BIGINT NOT NULL UNIQUE,
          to_idx       BIGINT NOT NULL,
          tx_hash      TEXT   NOT NULL,
          block_number BIGINT NOT NULL,
          anchored_at  BIGINT NOT NULL
        );
        CREATE TABLE nonces (
          reader     TEXT   NOT NULL,
          nonce      TEXT   NOT NULL,
          expires_at BIGINT NOT NULL,
          PRIMARY KEY (reader, nonce)
        );
        CREATE INDEX nonces_by_expiry ON nonces (expires_at);
        CREATE TABLE refusal_counts (
          period_start BIGINT NOT NULL,
          decision     TEXT   NOT NULL,
          count        BIGINT NOT NULL,
          PRIMARY KEY (period_start, decision)
        );
        CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' AND NOT OLD.redacted AND NEW.redacted AND NEW.idx = OLD.idx AND NEW.at_ms = OLD.at_ms
             AND NEW.decision = OLD.decision AND NEW.status = OLD.status AND NEW.leaf_hash = OLD.leaf_hash THEN
            RETURN NEW;
          END IF;
          RAISE EXCEPTION 'the access log is append-only';
        END $$;
        CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
          FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
        CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
          FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
      `);
    },
  },
];

/** The advisory lock of the anchoring (any constant; distinct from the migrations'). */
const ANCHOR_LOCK = 0x7477_6e61; // "twna"

export class PostgresAccessLogStore implements AccessLogStore {
  readonly backend = "postgres";
  readonly #db: PostgresDatabase;
  readonly #claims: PostgresNonceClaims;

  constructor(options: PostgresOptions) {
    this.#db = new PostgresDatabase(options).use(ACCESS_LOG_COMPONENT, MIGRATIONS);
    this.#claims = new PostgresNonceClaims(this.#db);
  }

  ready(): Promise<void> {
    return this.#db.ready();
  }

  claimNonce(reader: string, nonce: string, expiresAt: number, nowSec: number): Promise<boolean> {
    return this.#claims.claim({ reader: reader.toLowerCase(), nonce: nonce.toLowerCase(), expiresAt, nowSec });
  }

  async pruneNonces(nowSec: number): Promise<number> {
    return (await this.#db.query("DELETE FROM nonces WHERE expires_at < $1", [nowSec])).rowCount;
  }

  append(entry: AccessLogInput, leafHashOf: (index: number) => string): Promise<number> {
    return this.appendMany([{ entry, leafHashOf }]).then((indexes) => indexes[0]);
  }

  /**
   * @dev Two round trips a group, not four: `BEGIN` and the head's increment go as one simple-protocol string (the
   * count is an integer formatted here), the rows and `COMMIT` as another, their values as literals: integers checked
   * and formatted, strings through `pg`'s escapeLiteral (the libpq rule). The leaf hashes need the indexes, which
   * only the head's row lock gives, so the rows cannot go in the first string.
   */
  async appendMany(items: readonly AccessLogAppend[]): Promise<number[]> {
    if (items.length === 0) return [];
    return this.#db.session(async (client) => {
      try {
        const [, head] = (await client.query(
          `BEGIN; UPDATE access_log_head SET next_idx = next_idx + ${items.length} RETURNING next_idx - ${items.length} AS idx`,
        )) as unknown as [QueryResult, QueryResult<{ idx: number | string }>];
        const first = Number(head.rows[0].idx);
        const rows = items.map(({ entry, leafHashOf }, k) => {
          const values = rowOf(first + k, entry, leafHashOf(first + k));
          return `(${values.map(literalOf).join(", ")})`;
        });
        await client.query(
          `INSERT INTO access_log (idx, at_ms, twin_id, reader, query_type, category, purpose, decision, status,
                                   request_hash, leaf_hash)
           VALUES ${rows.join(", ")}; COMMIT`,
        );
        return items.map((_, k) => first + k);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }

  async count(): Promise<number> {
    return (await this.#db.query<{ next_idx: number }>("SELECT next_idx FROM access_log_head")).rows[0].next_idx;
  }

  async range(fromIndex: number, toIndex: number): Promise<AccessLogEntry[]> {
    const { rows } = await this.#db.query<EntryRow>(
      "SELECT * FROM access_log WHERE idx BETWEEN $1 AND $2 ORDER BY idx",
      [fromIndex, toIndex],
    );
    return rows.map(entryOf);
  }

  async ofTwin(twinId: string, afterIndex: number, limit: number): Promise<AccessLogEntry[]> {
    const { rows } = await this.#db.query<EntryRow>(
      "SELECT * FROM access_log WHERE twin_id = $1 AND idx > $2 AND NOT redacted ORDER BY idx LIMIT $3",
      [twinId.toLowerCase(), afterIndex, limit],
    );
    return rows.map(entryOf);
  }

  async leafHashes(fromIndex: number, toIndex: number): Promise<string[]> {
    const { rows } = await this.#db.query<{ leaf_hash: string }>(
      "SELECT leaf_hash FROM access_log WHERE idx BETWEEN $1 AND $2 ORDER BY idx",
      [fromIndex, toIndex],
    );
    return rows.map((r) => r.leaf_hash);
  }

  async anchors(afterFromIndex: number): Promise<AccessLogAnchorRecord[]> {
    const { rows } = await this.#db.query<AnchorRow>(
      "SELECT * FROM access_log_anchors WHERE from_idx > $1 ORDER BY from_idx",
      [afterFromIndex],
    );
    return rows.map(anchorOf);
  }

  async insertAnchor(a: AccessLogAnchorRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO access_log_anchors (root, from_idx, to_idx, tx_hash, block_number, anchored_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [a.root, a.fromIndex, a.toIndex, a.transactionHash, a.blockNumber, a.anchoredAt],
    );
  }

  async withAnchorLock<T>(fn: () => Promise<T>): Promise<T | null> {
    return this.#db.session(async (client) => {
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        ANCHOR_LOCK,
      ]);
      if (!rows[0].locked) return null;
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [ANCHOR_LOCK]);
      }
    });
  }

  async countRefusal(periodStart: number, decision: string): Promise<void> {
    await this.#db.query(
      `INSERT INTO refusal_counts (period_start, decision, count) VALUES ($1, $2, 1)
       ON CONFLICT (period_start, decision) DO UPDATE SET count = refusal_counts.count + 1`,
      [periodStart, decision],
    );
  }

  async refusalCounts(): Promise<RefusalCount[]> {
    const { rows } = await this.#db.query<{ period_start: number; decision: string; count: number }>(
      "SELECT * FROM refusal_counts ORDER BY period_start, decision",
    );
    return rows.map((r) => ({ periodStart: r.period_start, decision: r.decision, count: r.count }));
  }

  async eraseTwin(twinId: string): Promise<number> {
    const { rowCount } = await this.#db.query(
      `UPDATE access_log SET twin_id = '', reader = '${ZeroAddress}', query_type = '', category = 0, purpose = 0,
                             request_hash = '', redacted = true
       WHERE twin_id = $1 AND NOT redacted`,
      [twinId.toLowerCase()],
    );
    if (rowCount > 0) await this.#db.query("VACUUM access_log").catch(() => undefined);
    return rowCount;
  }

  async close(): Promise<void> {
    await this.#claims.drain();
    await this.#db.close();
  }
}

/** An SQL literal of a row value: a safe integer as digits, a string escaped (anything else is refused). */
function literalOf(value: unknown): string {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value === "string") return escapeLiteral(value);
  throw new SqlStoreError("STORE_FAILED", "an access-log value is neither a safe integer nor a string");
}
