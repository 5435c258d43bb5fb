import type { IndexerExtension } from "../dispatch";
import { IndexerError } from "../errors";
import { assertFollowsV2Contracts, CORE_COMPONENT, CORE_MIGRATIONS } from "../schema";
import { POSTGRES_CORE_MIGRATIONS } from "../schema-postgres";
import { PostgresStore } from "./postgres";
import { SqliteStore } from "./sqlite";
import type { IndexerStore, StoreDialect } from "./store";

/** Where the index lives: exactly one of a SQLite file (or `:memory:`), a PostgreSQL URL, or an open store. */
export interface StoreLocation {
  /** A SQLite file path, or ":memory:" (the embedded default). */
  readonly dbPath?: string;
  /** A `postgres://` URL: the index in PostgreSQL. */
  readonly databaseUrl?: string;
  /** An open store (closed with the indexer). */
  readonly store?: IndexerStore;
}

/** Opens the store a location names. */
export function openStore(location: StoreLocation, options: { readonly?: boolean } = {}): IndexerStore {
  const given = [location.dbPath, location.databaseUrl, location.store].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new IndexerError("INDEXER_INVALID_ARGUMENT", "give exactly one of dbPath, databaseUrl and store");
  }
  if (location.store) return location.store;
  if (location.databaseUrl !== undefined) return new PostgresStore({ connectionString: location.databaseUrl });
  return SqliteStore.open(location.dbPath as string, options);
}

/** The core migrations of a backend. */
export function coreMigrations(dialect: StoreDialect): readonly string[] {
  return dialect === "sqlite" ? CORE_MIGRATIONS : POSTGRES_CORE_MIGRATIONS;
}

/**
 * Refuses a database of the v1 contracts, then applies the pending core and extension migrations.
 * @throws IndexerError `INDEXER_REINDEX_REQUIRED`, `INDEXER_SCHEMA`.
 */
export async function prepareStore(store: IndexerStore, extensions: readonly IndexerExtension[]): Promise<void> {
  if (store instanceof SqliteStore) assertFollowsV2Contracts(store.db);
  await store.migrate(CORE_COMPONENT, coreMigrations(store.dialect));
  for (const extension of extensions) {
    const migrations = extension.migrations ?? [];
    await store.migrate(extension.name, "sqlite" in migrations ? migrations[store.dialect] : migrations);
  }
}

/**
 * Checks that a database is an indexer's at this code's core schema, without changing it (for readers).
 * @throws IndexerError `INDEXER_REINDEX_REQUIRED`, `INDEXER_SCHEMA`.
 */
export async function assertReadable(store: IndexerStore): Promise<void> {
  try {
    if (store instanceof SqliteStore) assertFollowsV2Contracts(store.db);
    const version = await store.schemaVersion(CORE_COMPONENT);
    const expected = coreMigrations(store.dialect).length;
    if (version !== expected) {
      throw new IndexerError(
        "INDEXER_SCHEMA",
        `the database's core schema is at version ${version}, this code reads version ${expected}`,
      );
    }
  } catch (error) {
    if (error instanceof IndexerError) throw error;
    throw new IndexerError("INDEXER_SCHEMA", "the database is not an indexer database", { cause: error });
  }
}
