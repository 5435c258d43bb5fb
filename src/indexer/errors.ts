import { TwinLedgerError } from "../errors";

/**
 * The indexer's error codes.
 *
 * | code                        | raised when                                                                   |
 * | --------------------------- | ----------------------------------------------------------------------------- |
 * | `INDEXER_REORG`             | the chain moved while a range was being read (nothing is committed; the next  |
 * |                             | sync rolls the reorg back), or an extension without `rollback` is under the   |
 * |                             | blocks a reorg replaced                                                       |
 * | `INDEXER_CONFIG_MISMATCH`   | the database was built for other contract addresses or another chain          |
 * | `INDEXER_INVALID_ARGUMENT`  | an option or a query argument is malformed (a twin id, an address, a limit)   |
 * | `INDEXER_DECODE`            | a log of a followed contract cannot be decoded or applied                     |
 * | `INDEXER_SCHEMA`            | the database's schema is newer than this code, or a migration failed          |
 * | `INDEXER_REINDEX_REQUIRED`  | the database holds events of the v1 contracts (core schema 1 or 2), which the |
 * |                             | v2 code cannot follow: build a new database from the v2 deployment block      |
 * | `INDEXER_CLOSED`            | the indexer was used after `close()`                                          |
 */
export type IndexerErrorCode =
  | "INDEXER_REORG"
  | "INDEXER_CONFIG_MISMATCH"
  | "INDEXER_INVALID_ARGUMENT"
  | "INDEXER_DECODE"
  | "INDEXER_SCHEMA"
  | "INDEXER_REINDEX_REQUIRED"
  | "INDEXER_CLOSED";

/**
 * An error of the indexer. Messages name block numbers, event names, argument names and lengths; they never
 * carry event payloads.
 */
export class IndexerError extends TwinLedgerError {
  declare readonly code: IndexerErrorCode;

  constructor(code: IndexerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
