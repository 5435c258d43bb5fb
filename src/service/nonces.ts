import type { AccessLog, NonceUse } from "./access-log";

export type { NonceUse };

/**
 * Where the gateway remembers the (reader, nonce) pairs it has accepted, until their request would be expired anyway
 * (issue 10, item 5). One operator's replicas must share one store: a nonce accepted by one replica is then refused
 * by every other, and a body replayed to another replica within the freshness window is a 409 `replayed`. (A body
 * replayed to another operator's gateway, or to another origin, is refused before: its signed audience is not that
 * gateway's, src/service/audience.ts.)
 *
 * `claim` must be atomic per (reader, nonce): of concurrent claims of one pair, exactly one gets a `NonceUse`. It may
 * answer synchronously (an in-process store) or asynchronously (a shared database: an `INSERT ... ON CONFLICT`
 * whose affected row count says who won).
 */
export interface NonceStore {
  /**
   * Claims `nonce` for `reader` until `expiresAt` (unix seconds).
   * @returns the claim, or null when the pair is already claimed and not expired at `nowSec`.
   */
  claim(reader: string, nonce: string, expiresAt: number, nowSec: number): NonceUse | null | Promise<NonceUse | null>;
}

/**
 * The gateway's default: the nonces table of the access log's store (src/store/sql), each claim one atomic insert
 * on the (reader, nonce) key, kept until it expires. With SQLite it serves one gateway process (a restart still
 * refuses the nonces used before); with PostgreSQL every replica sharing the database refuses a nonce any of them
 * accepted.
 */
export class AccessLogNonceStore implements NonceStore {
  constructor(private readonly log: AccessLog) {}

  claim(reader: string, nonce: string, expiresAt: number, nowSec: number): Promise<NonceUse | null> {
    return this.log.claimNonce(reader, nonce, expiresAt, nowSec);
  }
}
