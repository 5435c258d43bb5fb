import { Pool, types, type PoolClient, type QueryResultRow } from "pg";
import { SqlStoreError, StoreUnavailableError } from "./errors";
import { migratePostgres, type PostgresMigration } from "./migrations";

/**
 * One PostgreSQL database shared by several processes (gateway replicas, pipelines): a `pg` Pool, its migrations
 * applied once (lazily, retried after a failure), and every driver error classified: the database being down,
 * restarting or out of connections is a {@link StoreUnavailableError} (retry later), anything else a
 * `STORE_FAILED` {@link SqlStoreError}. The pool drops broken connections and opens new ones on the next query, so
 * nothing needs restarting when the database comes back.
 */
export interface PostgresOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly url: string;
  /** Connections at most. Default 10. */
  readonly maxConnections?: number;
  /** Give up connecting after this many ms (then STORE_UNAVAILABLE). Default 2,000. */
  readonly connectTimeoutMs?: number;
  /** Give up a query after this many ms (then STORE_UNAVAILABLE). Default 10,000. */
  readonly queryTimeoutMs?: number;
  /** The Retry-After a caller is told when the database is unreachable, seconds. Default 2. */
  readonly retryAfterSeconds?: number;
}

/** int8 (20) as a JS number: every BIGINT of these schemas (indexes, times, counts) is a safe integer. */
const INT8 = 20;
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8
      ? (value: string) => Number(value)
      : types.getTypeParser(oid, format ?? "text")) as typeof types.getTypeParser,
};

/** SQLSTATE classes and codes that mean "not now": connection exceptions, shutdown, too many connections. */
const UNAVAILABLE_STATES = new Set([
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "53400",
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);
const UNAVAILABLE_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection timeout|Client has encountered a connection error|not queryable/i;

/** Whether `error` says the database is unreachable now (as opposed to a bad statement or a constraint). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isUnavailable);
  return UNAVAILABLE_MESSAGE.test(error.message);
}

export class PostgresDatabase {
  readonly #pool: Pool;
  readonly #retryAfter: number;
  readonly #migrations: { component: string; list: readonly PostgresMigration[] }[] = [];
  #ready: Promise<void> | null = null;
  #closed = false;

  constructor(options: PostgresOptions) {
    const max = options.maxConnections ?? 10;
    if (!Number.isSafeInteger(max) || max < 1) throw new SqlStoreError("STORE_OPTIONS", "maxConnections must be ≥ 1");
    this.#retryAfter = options.retryAfterSeconds ?? 2;
    this.#pool = new Pool({
      connectionString: options.url,
      max,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2_000,
      query_timeout: options.queryTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      // Idle connections do not keep the process alive (a CLI or a test ends when its work is done).
      allowExitOnIdle: true,
      types: TYPES,
    });
    // An idle connection that breaks (the server restarted) is dropped by the pool; without a listener the
    // error would be thrown out of the process.
    this.#pool.on("error", () => undefined);
  }

  /** Registers the migrations of a component; they are applied before the first query. */
  use(component: string, migrations: readonly PostgresMigration[]): this {
    this.#migrations.push({ component, list: migrations });
    this.#ready = null;
    return this;
  }

  /** Applies the registered migrations (once; after a failure the next call tries again). */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new SqlStoreError("STORE_CLOSED", "the store is closed"));
    this.#ready ??= this.#raw(async (client) => {
      for (const { component, list } of this.#migrations) await migratePostgres(client, component, list);
    }).catch((error: unknown) => {
      this.#ready = null;
      throw error;
    });
    return this.#ready;
  }

  /** One statement (migrations applied first). */
  async query<R extends QueryResultRow>(
    text: string,
    values: readonly unknown[] = [],
  ): Promise<{ rows: R[]; rowCount: number }> {
    await this.ready();
    try {
      const result = await this.#pool.query<R>(text, values as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw this.classify(error);
    }
  }

  /** `fn` in one transaction on one connection (READ COMMITTED); rolled back when it throws. */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    return this.#raw(async (client) => {
      await client.query("BEGIN");
      try {
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }

  /**
   * `fn` on one connection held for its whole run (e.g. under a session advisory lock). The connection is
   * destroyed rather than returned to the pool when `fn` throws, so no lock outlives a failure.
   */
  async session<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    return this.#raw(fn);
  }

  /** The typed error for a driver error: unavailable (retry) or failed. */
  classify(error: unknown): Error {
    if (error instanceof SqlStoreError) return error;
    if (this.#closed) return new SqlStoreError("STORE_CLOSED", "the store is closed", { cause: error });
    if (isUnavailable(error)) {
      return new StoreUnavailableError("the database cannot be reached", this.#retryAfter, { cause: error });
    }
    return new SqlStoreError("STORE_FAILED", "a database statement failed", { cause: error });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end().catch(() => undefined);
  }

  async #raw<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new SqlStoreError("STORE_CLOSED", "the store is closed");
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.classify(error);
    }
    // A checked-out connection that breaks between two statements emits "error": without a listener it would be
    // thrown out of the process; the next statement on it fails and is classified.
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on("error", onError);
    try {
      return await fn(client);
    } catch (error) {
      broken ??= error instanceof Error ? error : new Error(String(error));
      throw this.classify(error);
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }
}
