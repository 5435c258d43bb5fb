/**
 * The indexer: follows TwinRegistry, ConsentPolicy and TwinUpdateLog events into SQLite (embedded, the default)
 * or PostgreSQL with a block checkpoint and a confirmation depth, and answers the dashboards' questions (a twin's
 * consents, requests, updates, batches, state commitments, emergency accesses, sources, delegates, ownership
 * history, gateway access-log anchors).
 *
 * - `Indexer.open(...)` writes (one process); `IndexReader.open(...)` reads the same database from other processes.
 *   Queries are async on both backends.
 * - Exactly once across restarts: each range's rows and the checkpoint commit in one transaction.
 * - Reorgs of any depth are rolled back to the common ancestor and re-indexed (see `Indexer`).
 * - Addresses come back EIP-55 checksummed, hashes lowercase hex, uint64/uint256 values as bigint.
 * - `IndexerExtension` is the extension point for more events or contracts.
 * - Follows the v2 contracts (issue 9); a database of the v1 contracts is refused (`INDEXER_REINDEX_REQUIRED`).
 */
export {
  DEFAULT_BATCH_BLOCKS,
  DEFAULT_CONFIRMATIONS,
  DEFAULT_POLL_INTERVAL_MS,
  Indexer,
  IndexReader,
  type IndexerOptions,
} from "./indexer";
export type { IndexerProvider } from "./chain";
export type { ExtensionEvent, IndexerAddresses, IndexerExtension } from "./dispatch";
export { IndexerQueries } from "./queries";
export { IndexerError, type IndexerErrorCode } from "./errors";
export { assertFollowsV2Contracts, CORE_MIGRATIONS, V2_CONTRACTS_SCHEMA } from "./schema";
export { POSTGRES_CORE_MIGRATIONS } from "./schema-postgres";
export { PostgresStore, type PostgresStoreOptions } from "./store/postgres";
export { SqliteStore } from "./store/sqlite";
export type { IndexerStore, Row, SqlParams, SqlRunner, StoreDialect } from "./store/store";
export type { StoreLocation } from "./store/open";
export { EMERGENCY_COOLDOWN_SECONDS, REQUEST_LIFETIME_SECONDS } from "./constants";
export type * from "./types";
