import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { Filter, FilterByBlockHash } from "ethers";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TwinLedgerError } from "../../../src/errors";
import { Indexer, type IndexerOptions, type IndexerProvider } from "../../../src/indexer";
import { twinFixture } from "../../fixtures";

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

/** An in-memory indexer over the fixture's contracts, with no confirmation depth (Hardhat automines). */
export function indexerFor(f: IndexedFixture, options: Partial<IndexerOptions> = {}): Indexer {
  return new Indexer({
    provider: ethers.provider,
    addresses: f.addresses,
    dbPath: ":memory:",
    confirmations: 0,
    startBlock: f.startBlock,
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

/** Run `action` and assert it throws a TwinLedgerError of this code; returns the error. */
export function expectCode(action: () => unknown, code: string): TwinLedgerError {
  let thrown: unknown;
  try {
    action();
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
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
