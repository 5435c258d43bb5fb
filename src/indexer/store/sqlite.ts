import Database from "better-sqlite3";
import { IndexerError } from "../errors";
import { migrate } from "../schema";
import type { IndexerStore, Row, SqlParams, SqlRunner } from "./store";

/**
 * The embedded store: one better-sqlite3 connection to a file (WAL) or to `:memory:`.
 *
 * better-sqlite3 is synchronous; the async calls resolve at once. A transaction is `BEGIN IMMEDIATE` ... `COMMIT`
 * on the one connection, so its callback must only await this store (no other I/O) to keep it short.
 */
export class SqliteStore implements IndexerStore {
  readonly dialect = "sqlite";
  private readonly statements = new Map<string, Database.Statement>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly db: Database.Database) {}

  /** Opens (creating it if needed) a database file, or `:memory:`. */
  static open(path: string, options: { readonly?: boolean } = {}): SqliteStore {
    if (typeof path !== "string" || path.length === 0) {
      throw new IndexerError("INDEXER_INVALID_ARGUMENT", "dbPath must be a file path or :memory:");
    }
    let db: Database.Database;
    try {
      db = options.readonly ? new Database(path, { readonly: true, fileMustExist: true }) : new Database(path);
    } catch (error) {
      throw new IndexerError("INDEXER_SCHEMA", "the indexer database cannot be opened", { cause: error });
    }
    if (!options.readonly && path !== ":memory:") {
      // WAL: readers (IndexReader) do not block the writer. synchronous=NORMAL may lose the last commits on power
      // loss, but each commit holds its rows and its checkpoint together, so what survives is consistent and the
      // lost ranges are read again.
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
    }
    db.pragma("busy_timeout = 5000");
    return new SqliteStore(db);
  }

  async all<T extends object = Row>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.prepare(sql).all(...args(params)) as T[];
  }

  async get<T extends object = Row>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return this.prepare(sql).get(...args(params)) as T | undefined;
  }

  async run(sql: string, params?: SqlParams): Promise<number> {
    return this.prepare(sql).run(...args(params)).changes;
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(this);
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async migrate(component: string, migrations: readonly string[]): Promise<number> {
    return migrate(this.db, component, migrations);
  }

  async schemaVersion(component: string): Promise<number> {
    const table = this.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
      .get();
    if (!table) return 0;
    const row = this.db.prepare("SELECT version FROM schema_version WHERE component = ?").get(component) as
      { version: number } | undefined;
    return row?.version ?? 0;
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.db.open) this.db.close();
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function args(params: SqlParams | undefined): unknown[] {
  if (params === undefined) return [];
  return Array.isArray(params) ? [...params] : [params];
}
