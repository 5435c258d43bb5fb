import { TwinLedgerError } from "../../errors";

/**
 * Stable codes of {@link SqlStoreError}.
 *
 * | code                | meaning                                                                              |
 * | ------------------- | ------------------------------------------------------------------------------------ |
 * | `STORE_UNAVAILABLE` | the database cannot be reached now (down, restarting, connections exhausted): retry  |
 * | `STORE_VERSION`     | the database holds a migration newer than this code knows: upgrade the code          |
 * | `STORE_OPEN`        | the database could not be opened or migrated                                         |
 * | `STORE_OPTIONS`     | an option is out of range                                                            |
 * | `STORE_CLOSED`      | the store was closed                                                                 |
 * | `STORE_FAILED`      | any other database error; `cause` has the driver's error (never row values)          |
 */
export const SqlStoreErrorCode = {
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  STORE_VERSION: "STORE_VERSION",
  STORE_OPEN: "STORE_OPEN",
  STORE_OPTIONS: "STORE_OPTIONS",
  STORE_CLOSED: "STORE_CLOSED",
  STORE_FAILED: "STORE_FAILED",
} as const;
export type SqlStoreErrorCode = (typeof SqlStoreErrorCode)[keyof typeof SqlStoreErrorCode];

/** An error of a SQL store (SQLite or PostgreSQL). Messages name tables and versions, never row values. */
export class SqlStoreError extends TwinLedgerError {
  declare readonly code: SqlStoreErrorCode;

  constructor(code: SqlStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The database cannot be reached now: the caller may retry after `retryAfterSeconds` (the gateway answers 503 with
 * Retry-After). The pool reconnects by itself once the database is back.
 */
export class StoreUnavailableError extends SqlStoreError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super("STORE_UNAVAILABLE", message, options);
  }
}
