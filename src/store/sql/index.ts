/**
 * SQL stores: SQLite (better-sqlite3, embedded, the default: nothing to start) and PostgreSQL (`pg`, for several
 * processes on several machines), with versioned migrations per backend (`schema_migrations`) and typed errors
 * (`StoreUnavailableError` when the database cannot be reached now).
 */
export { SqlStoreError, SqlStoreErrorCode, StoreUnavailableError } from "./errors";
export { migratePostgres, migrateSqlite, type PostgresMigration, type SqliteMigration } from "./migrations";
export { PostgresDatabase, isUnavailable, type PostgresOptions } from "./postgres";
export { openSqliteFile } from "./sqlite-file";
export type {
  AccessLogAnchorRecord,
  AccessLogAppend,
  AccessLogEntry,
  AccessLogInput,
  AccessLogStore,
  RefusalCount,
} from "./access-log-store";
export { SqliteAccessLogStore, type SqliteAccessLogOptions } from "./access-log-sqlite";
export { PostgresAccessLogStore } from "./access-log-postgres";

/**
 * The database URL of the environment (`DATABASE_URL`), or undefined: PostgreSQL when set, SQLite otherwise. For
 * entry points (a gateway replica, the demo); library code takes the URL as an explicit option.
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.DATABASE_URL?.trim();
  return url === undefined || url === "" ? undefined : url;
}
export {
  PostgresSealedIndexStore,
  SqliteSealedIndexStore,
  SEALED_INDEX_COMPONENT,
  type SealedDocument,
  type SealedIndexStore,
} from "./sealed-index-store";
