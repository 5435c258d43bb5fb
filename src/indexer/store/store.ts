/**
 * The indexer's storage interface: a SQL database reached through a few async calls, with two implementations,
 * SQLite (better-sqlite3, the embedded default: `SqliteStore`) and PostgreSQL (`pg`: `PostgresStore`).
 *
 * SQL is written once, in the dialect both engines share: parameters as `?` (positional, an array) or `@name`
 * (named, an object), `INSERT ... ON CONFLICT`, row values, `UNION ALL`. Each backend has its own migrations
 * (schema.ts for SQLite, schema-postgres.ts for PostgreSQL); the tables, columns and their meaning are the same.
 */

/** Parameters of one statement: positional (`?`) or named (`@name`). */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/** A row as the database returns it: column name to value (numbers, strings or null). */
export type Row = Record<string, unknown>;

/** Statements on one connection (inside a transaction when handed to `transaction`'s callback). */
export interface SqlRunner {
  /** Every row of a query. */
  all<T extends object = Row>(sql: string, params?: SqlParams): Promise<T[]>;
  /** The first row of a query, or undefined. */
  get<T extends object = Row>(sql: string, params?: SqlParams): Promise<T | undefined>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: SqlParams): Promise<number>;
}

/** Which engine a store runs on. */
export type StoreDialect = "sqlite" | "postgres";

/** One database of the indexer. */
export interface IndexerStore extends SqlRunner {
  readonly dialect: StoreDialect;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it rejects. Calls are serialized:
   * at most one transaction of a store runs at a time.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * Applies the component's pending migrations, each with the bump of its version in `schema_version`, in one
   * transaction; resolves with the version reached (the number of migrations).
   * @throws IndexerError `INDEXER_SCHEMA` when the database is newer than `migrations` or a migration fails.
   */
  migrate(component: string, migrations: readonly string[]): Promise<number>;
  /** The component's schema version (0 when it has none). */
  schemaVersion(component: string): Promise<number>;
  close(): Promise<void>;
}
