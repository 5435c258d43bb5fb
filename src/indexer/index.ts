/**
 * The indexer: follows TwinRegistry, ConsentPolicy and TwinUpdateLog events into SQLite with a block checkpoint
 * and a confirmation depth, and answers the dashboards' questions (a twin's consents, requests, updates, batches,
 * state commitments, emergency accesses, sources, delegates, ownership history, gateway access-log anchors).
 *
 * - `Indexer` writes (one process); `IndexReader` reads the same file from other processes.
 * - Exactly once across restarts: each range's rows and the checkpoint commit in one transaction.
 * - Reorgs deeper than `confirmations` throw `INDEXER_REORG` (see `Indexer`).
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
  type ExtensionEvent,
  type IndexerAddresses,
  type IndexerExtension,
  type IndexerOptions,
  type IndexerProvider,
} from "./indexer";
export { IndexerQueries } from "./queries";
export { IndexerError, type IndexerErrorCode } from "./errors";
export { assertFollowsV2Contracts, CORE_MIGRATIONS, V2_CONTRACTS_SCHEMA } from "./schema";
export { EMERGENCY_COOLDOWN_SECONDS, REQUEST_LIFETIME_SECONDS } from "./constants";
export type * from "./types";
