import type { PostgresDatabase } from "./postgres";

/**
 * The nonce claims of one PostgreSQL access-log store, grouped: the claims that arrive within one event-loop turn
 * are one statement (`INSERT ... SELECT FROM unnest(...) ON CONFLICT ... DO UPDATE ... WHERE expired RETURNING`),
 * each caller still learning whether ITS pair was new, instead of one round trip per claim.
 *
 * @dev Who wins: the rows the statement returns were inserted (new pair) or taken over (an expired claim); the
 * others were held, by an earlier claim or by a concurrent statement of another process (the unique key makes one
 * of two concurrent inserts wait for the other and then see its row). A pair asked twice in one group goes to the
 * database once: its later askers lose (PostgreSQL also refuses to touch one row twice in one statement). The rows
 * go in (reader, nonce) order, so two processes' groups lock overlapping keys in one order and cannot deadlock.
 * The expiry check takes one `nowSec` a statement: a group whose claims were asked in different seconds (rare within
 * one turn) is one statement per second.
 */
export interface NonceClaim {
  /** Lower case. */
  readonly reader: string;
  /** Lower case. */
  readonly nonce: string;
  readonly expiresAt: number;
  readonly nowSec: number;
}

interface PendingClaim extends NonceClaim {
  resolve(won: boolean): void;
  reject(error: unknown): void;
}

/** Claims per statement at most (three array parameters, so no parameter limit; bounds the statement's work). */
export const MAX_CLAIM_GROUP = 1024;

const CLAIM_GROUP_SQL = `
  INSERT INTO nonces (reader, nonce, expires_at)
  SELECT reader, nonce, expires_at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(reader, nonce, expires_at)
  ORDER BY reader, nonce
  ON CONFLICT (reader, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE nonces.expires_at < $4
  RETURNING reader, nonce`;

const keyOf = (reader: string, nonce: string) => `${reader} ${nonce}`;

export class PostgresNonceClaims {
  #pending: PendingClaim[] = [];
  /** Statements of claims being run. */
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly db: PostgresDatabase) {}

  /** Claims a pair; resolves true when this call won it. Written with the other claims of this event-loop turn. */
  claim(claim: NonceClaim): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ ...claim, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Sends the claims waiting now (at most MAX_CLAIM_GROUP a statement). */
  flush(): void {
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0, MAX_CLAIM_GROUP);
      const run = this.#write(group);
      this.#running.add(run);
      void run.finally(() => this.#running.delete(run));
    }
  }

  /** Sends the claims waiting and waits for every statement in flight. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.#running);
  }

  async #write(group: readonly PendingClaim[]): Promise<void> {
    // The first asker of each pair goes to the database; later askers of the same pair in this group lose.
    const first = new Map<string, PendingClaim>();
    const losers: PendingClaim[] = [];
    for (const claim of group) {
      const key = keyOf(claim.reader, claim.nonce);
      if (first.has(key)) losers.push(claim);
      else first.set(key, claim);
    }
    const bySecond = new Map<number, PendingClaim[]>();
    for (const claim of first.values()) {
      const same = bySecond.get(claim.nowSec);
      if (same === undefined) bySecond.set(claim.nowSec, [claim]);
      else same.push(claim);
    }
    try {
      const won = new Set<string>();
      for (const [nowSec, asked] of bySecond) {
        const { rows } = await this.db.query<{ reader: string; nonce: string }>(CLAIM_GROUP_SQL, [
          asked.map((c) => c.reader),
          asked.map((c) => c.nonce),
          asked.map((c) => c.expiresAt),
          nowSec,
        ]);
        for (const r of rows) won.add(keyOf(r.reader, r.nonce));
      }
      for (const claim of first.values()) claim.resolve(won.has(keyOf(claim.reader, claim.nonce)));
      for (const claim of losers) claim.resolve(false);
    } catch (error) {
      for (const claim of group) claim.reject(error);
    }
  }
}
