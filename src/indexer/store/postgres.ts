import { Pool, types, type PoolClient, type QueryResultRow } from "pg";
import { IndexerError } from "../errors";
import { numbered } from "./sql";
import type { IndexerStore, Row, SqlParams, SqlRunner } from "./store";

/** The pg type id of `bigint` (int8): every integer column of the PostgreSQL schema, and `COUNT(*)`. */
const INT8 = 20;

/**
 * The indexer's integers are block numbers, log indexes, timestamps and small masks, all below 2^53 (uint64 and
 * uint256 values are stored as zero-padded TEXT): a `bigint` column comes back as a JS number, as from SQLite.
 */
function typeParser(id: number, format?: "text" | "binary"): unknown {
  if (id === INT8 && format !== "binary") return (value: string) => Number(value);
  return format === undefined ? types.getTypeParser(id) : types.getTypeParser(id, format);
}

/** A lock key of `pg_advisory_xact_lock` held by a migration, so that two processes never migrate at once. */
const MIGRATION_LOCK = 0x7477_6e6c; // "twnl"

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly connectionString: string;
  /** Connections of the pool. Default 4. */
  readonly maxConnections?: number;
}

/**
 * The PostgreSQL store: a `pg` pool. Reads take any connection; a transaction holds one connection from `BEGIN`
 * to `COMMIT`. Several processes may read one database; one indexer writes it (its transactions are serialized
 * within the process; the checkpoint row keeps two writers from interleaving ranges silently, see `Indexer`).
 */
export class PostgresStore implements IndexerStore {
  readonly dialect = "postgres";
  private readonly pool: Pool;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    if (typeof options.connectionString !== "string" || options.connectionString.length === 0) {
      throw new IndexerError("INDEXER_INVALID_ARGUMENT", "databaseUrl must be a postgres:// URL");
    }
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      types: { getTypeParser: typeParser as never },
    });
    // An idle connection's error (the server restarted) must not crash the process; the next query reconnects.
    this.pool.on("error", () => undefined);
  }

  all<T extends object = Row>(sql: string, params?: SqlParams): Promise<T[]> {
    return query<T>(this.pool, sql, params);
  }

  async get<T extends object = Row>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return (await query<T>(this.pool, sql, params))[0];
  }

  async run(sql: string, params?: SqlParams): Promise<number> {
    const { text, values } = numbered(sql, params);
    return (await this.pool.query(text, values)).rowCount ?? 0;
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.inTransaction(fn));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async migrate(component: string, migrations: readonly string[]): Promise<number> {
    await this.pool.query(
      "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    );
    return this.transaction(async (tx) => {
      await tx.run(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      const row = await tx.get<{ version: number }>("SELECT version FROM schema_version WHERE component = ?", [
        component,
      ]);
      const current = row?.version ?? 0;
      if (current > migrations.length) {
        throw new IndexerError(
          "INDEXER_SCHEMA",
          `the database's ${component} schema is at version ${current}, newer than this code's ${migrations.length}`,
        );
      }
      for (let version = current + 1; version <= migrations.length; version++) {
        try {
          await (tx as ClientRunner).exec(migrations[version - 1]);
        } catch (error) {
          throw new IndexerError("INDEXER_SCHEMA", `migration ${version} of ${component} failed`, { cause: error });
        }
        await tx.run(
          `INSERT INTO schema_version (component, version) VALUES (?, ?)
           ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
          [component, version],
        );
      }
      return migrations.length;
    });
  }

  async schemaVersion(component: string): Promise<number> {
    const table = await this.get("SELECT to_regclass('schema_version') AS name");
    if (table?.name === null || table === undefined) return 0;
    const row = await this.get<{ version: number }>("SELECT version FROM schema_version WHERE component = ?", [
      component,
    ]);
    return row?.version ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.pool.end();
  }

  private async inTransaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn(new ClientRunner(client));
      await client.query("COMMIT");
      return result;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // the connection is gone: do not return it to the pool
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** The statements of one transaction, on its connection. */
class ClientRunner implements SqlRunner {
  constructor(private readonly client: PoolClient) {}

  all<T extends object = Row>(sql: string, params?: SqlParams): Promise<T[]> {
    return query<T>(this.client, sql, params);
  }

  async get<T extends object = Row>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return (await query<T>(this.client, sql, params))[0];
  }

  async run(sql: string, params?: SqlParams): Promise<number> {
    const { text, values } = numbered(sql, params);
    return (await this.client.query(text, values)).rowCount ?? 0;
  }

  /** Several statements without parameters (a migration), through the simple query protocol. */
  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }
}

async function query<T extends object>(
  on: Pick<Pool, "query"> | PoolClient,
  sql: string,
  params: SqlParams | undefined,
): Promise<T[]> {
  const { text, values } = numbered(sql, params);
  const result = await (on as Pool).query<QueryResultRow>(text, values);
  return result.rows as T[];
}
