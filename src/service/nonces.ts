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
 * answer synchronously (the in-process store) or asynchronously (a shared database: an `INSERT ... ON CONFLICT DO
 * NOTHING` whose affected row count says who won).
 */
export interface NonceStore {
  /**
   * Claims `nonce` for `reader` until `expiresAt` (unix seconds).
   * @returns the claim, or null when the pair is already claimed and not expired at `nowSec`.
   */
  claim(reader: string, nonce: string, expiresAt: number, nowSec: number): NonceUse | null | Promise<NonceUse | null>;
}

/**
 * The per-process store: the access log's nonce memory (a map in memory, persisted with each access's log entry in
 * the same SQLite transaction, so a restart still refuses them). Right for one gateway process; replicas need a
 * shared {@link NonceStore} (the scale-out issue's database).
 */
export class AccessLogNonceStore implements NonceStore {
  constructor(private readonly log: AccessLog) {}

  claim(reader: string, nonce: string, expiresAt: number, nowSec: number): NonceUse | null {
    return this.log.claimNonce(reader, nonce, expiresAt, nowSec);
  }
}
