import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { freshDatabase } from "../../../postgres-server";

/**
 * One database of a backend for a shared suite: `url` to open stores on (a SQLite path or a PostgreSQL URL, each
 * open a new connection, as another process would), `exec` for raw SQL, `cleanup` at the end.
 */
export interface StoreDatabase {
  readonly backend: "sqlite" | "postgres";
  readonly url: string;
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

export type StoreDatabaseFactory = () => Promise<StoreDatabase>;

/** A SQLite file in a fresh 0700 folder. */
export const sqliteDatabase: StoreDatabaseFactory = async () => {
  const dir = mkdtempSync(join(tmpdir(), "twinledger-store-"));
  const url = join(dir, "store.sqlite");
  return {
    backend: "sqlite",
    url,
    async exec(sql) {
      const db = new Database(url);
      try {
        db.pragma("busy_timeout = 5000");
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** A fresh database on the test PostgreSQL server (test/postgres-server.ts). */
export const postgresDatabase: StoreDatabaseFactory = async () => {
  const url = await freshDatabase("store");
  return {
    backend: "postgres",
    url,
    async exec(sql) {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      /* the database is dropped with the server */
    },
  };
};

/** Both backends: a suite calls `describeStore(name, factory, suite)` once per entry. */
export const STORE_BACKENDS: readonly [string, StoreDatabaseFactory][] = [
  ["SQLite", sqliteDatabase],
  ["PostgreSQL", postgresDatabase],
];

/**
 * Runs the same suite against one backend: `suite(db)` registers its tests, where `db()` is the database of the
 * current test (a new one per test).
 */
export function describeStore(
  name: string,
  factory: StoreDatabaseFactory,
  suite: (db: () => StoreDatabase) => void,
): void {
  describe(name, function () {
    this.timeout(60_000);
    let current: StoreDatabase | undefined;
    beforeEach(async () => {
      current = await factory();
    });
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });
    suite(() => {
      if (current === undefined) throw new Error("no database outside a test");
      return current;
    });
  });
}
