import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { Filter, FilterByBlockHash } from "ethers";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TwinLedgerError } from "../../../src/errors";
import { Indexer, type IndexerOptions, type IndexerProvider, type StoreDialect } from "../../../src/indexer";
import { twinFixture } from "../../fixtures";
import { INDEXED_TABLES } from "../../../src/indexer/journal";
import { Client } from "pg";
import { randomBytes } from "node:crypto";
import { PostgresStore, POSTGRES_CORE_MIGRATIONS } from "../../../src/indexer";
import { CORE_COMPONENT } from "../../../src/indexer/schema";
import { freshDatabase, postgresServerUrl } from "../../postgres-server";

/**
 * The backends every indexer suite runs against: SQLite and PostgreSQL (test/postgres-server.ts). `INDEXER_BACKENDS`
 * (comma-separated) narrows them, e.g. `INDEXER_BACKENDS=sqlite` on a machine without PostgreSQL.
 */
export const BACKENDS: readonly StoreDialect[] = (process.env.INDEXER_BACKENDS ?? "sqlite,postgres")
  .split(",")
  .map((name) => name.trim())
  .filter((name): name is StoreDialect => name === "sqlite" || name === "postgres");

let currentBackend: StoreDialect = "sqlite";

/** The backend of the suite running now (set by `describeEachBackend`). */
export function backend(): StoreDialect {
  return currentBackend;
}

/** `describe(title, body)` once per backend; `indexerFor` and `storeLocation` use the suite's backend. */
export function describeEachBackend(title: string, body: (dialect: StoreDialect) => void): void {
  for (const dialect of BACKENDS) {
    describe(`${title} [${dialect}]`, () => {
      before(() => {
        currentBackend = dialect;
      });
      body(dialect);
    });
  }
}

/**
 * A new, empty place for an index on the suite's backend that outlives one indexer (for restarts): a SQLite file
 * in a temporary folder, or a fresh PostgreSQL database. `cleanup` removes the folder.
 */
export async function storeLocation(
  name = "index",
): Promise<{ location: { dbPath: string } | { databaseUrl: string }; cleanup: () => void }> {
  if (currentBackend === "postgres") return { location: { databaseUrl: await freshDatabase(name) }, cleanup: () => {} };
  const tmp = tempDir();
  return { location: { dbPath: tmp.path(`${name}.sqlite`) }, cleanup: tmp.cleanup };
}

/** `twinFixture` plus what an indexer needs: the addresses and the deployment block. */
export async function indexedFixture() {
  const f = await loadFixture(twinFixture);
  return {
    ...f,
    addresses: {
      registry: await f.registry.getAddress(),
      consent: await f.consent.getAddress(),
      updateLog: await f.updateLog.getAddress(),
    },
    startBlock: f.contracts[0].receipt.blockNumber,
  };
}

export type IndexedFixture = Awaited<ReturnType<typeof indexedFixture>>;

let template: Promise<string> | undefined;

/**
 * A new PostgreSQL database with the core schema already migrated: a copy of a template database migrated once per
 * process (`CREATE DATABASE ... TEMPLATE`), which saves each test the migration.
 */
async function migratedPostgresDatabase(): Promise<string> {
  template ??= (async () => {
    const url = await freshDatabase("indexer_template");
    const store = new PostgresStore({ connectionString: url });
    await store.migrate(CORE_COMPONENT, POSTGRES_CORE_MIGRATIONS);
    await store.close();
    return new URL(url).pathname.slice(1);
  })();
  const templateName = await template;
  const url = new URL(await postgresServerUrl());
  const name = `indexer_${randomBytes(5).toString("hex")}`;
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * An indexer over the fixture's contracts in a new database of the suite's backend (SQLite in memory, or a fresh
 * PostgreSQL database), with no confirmation depth (Hardhat automines).
 */
export async function indexerFor(
  f: Pick<IndexedFixture, "addresses" | "startBlock">,
  options: Partial<IndexerOptions> = {},
): Promise<Indexer> {
  const location =
    options.dbPath !== undefined || options.databaseUrl !== undefined || options.store !== undefined
      ? {}
      : currentBackend === "postgres"
        ? { databaseUrl: await migratedPostgresDatabase() }
        : { dbPath: ":memory:" };
  return Indexer.open({
    provider: ethers.provider,
    addresses: f.addresses,
    confirmations: 0,
    startBlock: f.startBlock,
    ...location,
    ...options,
  });
}

/** A provider that passes calls through and records the block ranges of `getLogs`. */
export function recordingProvider(provider: IndexerProvider = ethers.provider, chainId?: bigint) {
  const ranges: [number, number][] = [];
  const wrapped: IndexerProvider = {
    getBlockNumber: () => provider.getBlockNumber(),
    getBlock: (tag, prefetch) => provider.getBlock(tag, prefetch),
    getNetwork: async () => {
      const network = await provider.getNetwork();
      if (chainId === undefined) return network;
      const copy = network.clone();
      copy.chainId = chainId;
      return copy;
    },
    getLogs: (filter: Filter | FilterByBlockHash) => {
      if ("fromBlock" in filter) ranges.push([Number(filter.fromBlock), Number(filter.toBlock)]);
      return provider.getLogs(filter);
    },
  };
  return { provider: wrapped, ranges };
}

/** A fresh directory under the OS temp dir, removed by `cleanup`. */
export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "twinledger-indexer-"));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Await `promise` and assert it rejects with a TwinLedgerError of this code; returns the error. */
export async function expectRejectCode(promise: Promise<unknown>, code: string): Promise<TwinLedgerError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected an error with code ${code}`).to.be.instanceOf(TwinLedgerError);
  const error = thrown as TwinLedgerError;
  expect(error.code, error.message).to.equal(code);
  return error;
}

/** Run `action` and assert it throws (or rejects with) a TwinLedgerError of this code; returns the error. */
export async function expectCode(action: () => unknown, code: string): Promise<TwinLedgerError> {
  let thrown: unknown;
  try {
    await action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected an error with code ${code}`).to.be.instanceOf(TwinLedgerError);
  const error = thrown as TwinLedgerError;
  expect(error.code, error.message).to.equal(code);
  return error;
}

/** Number of logs the three contracts emitted from `fromBlock` to the head, straight from the node. */
export async function chainLogCount(f: IndexedFixture, fromBlock: number = f.startBlock): Promise<number> {
  const logs = await ethers.provider.getLogs({
    address: [f.addresses.registry, f.addresses.consent, f.addresses.updateLog],
    fromBlock,
    toBlock: "latest",
  });
  return logs.length;
}

/** Wait until `condition` holds, polling every 10 ms, for at most `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Every row of every indexed table (the block-hash list aside: it holds the blocks a run happened to read), sorted,
 * and the checkpoint: two indexes of the same chain have equal dumps.
 */
export async function dumpOf(indexer: Indexer) {
  const tables: Record<string, string[]> = {};
  for (const table of INDEXED_TABLES.filter((t) => t !== "blocks")) {
    const rows = await indexer.read((db) => db.all(`SELECT * FROM ${table}`));
    tables[table] = rows.map((row) => JSON.stringify(Object.entries(row).sort())).sort();
  }
  const { blockNumber, blockHash } = await indexer.checkpoint();
  return { checkpoint: { blockNumber, blockHash }, tables };
}

/** Asserts that `indexer` holds exactly what a new database indexing the chain from scratch holds. */
export async function expectSameAsFromScratch(
  indexer: Indexer,
  f: Pick<IndexedFixture, "addresses" | "startBlock">,
  options: Partial<IndexerOptions> = {},
): Promise<void> {
  const scratch = await indexerFor(f, options);
  await scratch.syncOnce();
  const [got, want] = [await dumpOf(indexer), await dumpOf(scratch)];
  await scratch.close();
  expect(got.checkpoint).to.deep.equal(want.checkpoint);
  for (const table of Object.keys(want.tables)) expect(got.tables[table], table).to.deep.equal(want.tables[table]);
  expect(Object.values(got.tables).flat().length).to.be.greaterThan(0);
}
