import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { Block } from "ethers";
import { ethers, network } from "hardhat";
import { TwinRegistry__factory } from "../../../typechain-types";
import Database from "better-sqlite3";
import { ZeroAddress } from "ethers";
import {
  CORE_MIGRATIONS,
  Indexer,
  IndexReader,
  V2_CONTRACTS_SCHEMA,
  type IndexerExtension,
  type IndexerProvider,
} from "../../../src/indexer";
import { CORE_COMPONENT, migrate } from "../../../src/indexer/schema";
import { DataCategory, SourceKind, TwinStatus } from "../../../src/vocabulary";
import {
  chainLogCount,
  expectCode,
  expectRejectCode,
  indexedFixture,
  indexerFor,
  recordingProvider,
  tempDir,
  waitFor,
  type IndexedFixture,
} from "./harness";

/** The next requester of `activity`: hardhat's accounts 12.. (v2 allows one open request per requester and twin). */
let nextRequester = 12;

/** Some activity on all three contracts: a few logs each, one block per transaction. */
async function activity(f: IndexedFixture, label: string): Promise<void> {
  const { registry, consent, updateLog, patient, emr, twinId } = f;
  const requester = (await ethers.getSigners())[nextRequester++];
  await registry.connect(patient).updateMetadata(twinId, ethers.id(`metadata:${label}`));
  await consent.connect(requester).requestConsent(twinId, DataCategory.LABS, 1, 3600, ethers.id(label));
  await updateLog
    .connect(emr)
    .recordUpdate(twinId, DataCategory.LABS, ethers.id(`blob:${label}`), ethers.id(`cid:${label}`));
}

/** What the dashboards see of the twin, for comparing two indexes of the same chain. */
function snapshotOf(indexer: Indexer, f: IndexedFixture) {
  return {
    twin: indexer.twin(f.twinId),
    history: indexer.historyOf(f.twinId),
    requests: indexer.requestsOf(f.twinId),
    updates: indexer.updatesOf(f.twinId, { limit: 1000 }),
    consents: indexer.consentsOf(f.twinId, { at: 0 }),
    events: indexer.eventsOf(f.twinId),
    eventCount: indexer.eventCount(),
  };
}

/** An extension on the registry that fails on `TwinSuspended`: a crash in the middle of a range's transaction. */
function failingOnSuspend(f: IndexedFixture): IndexerExtension {
  return {
    name: "crash",
    address: f.addresses.registry,
    contractInterface: TwinRegistry__factory.createInterface(),
    apply(event) {
      if (event.name === "TwinSuspended") throw new Error("simulated crash");
    },
  };
}

describe("indexer: sync, restart and chain safety", () => {
  beforeEach(() => {
    nextRequester = 12;
  });

  it("counts nothing twice when synced again", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f);
    const first = await indexer.syncOnce();
    expect(first.events).to.be.greaterThan(0);
    const before = snapshotOf(indexer, f);

    const second = await indexer.syncOnce();
    expect(second.events).to.equal(0);
    expect(second.ranges).to.equal(0);
    expect(second.fromBlock).to.equal(null);
    expect(snapshotOf(indexer, f)).to.deep.equal(before);

    await activity(f, "a");
    expect((await indexer.syncOnce()).events).to.equal(3);
    expect(indexer.eventCount()).to.equal(await chainLogCount(f));
    await indexer.close();
  });

  it("skips logs already indexed even if the checkpoint is set back (the per-log guard)", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f);
    await activity(f, "a");
    await indexer.syncOnce();
    const before = snapshotOf(indexer, f);

    // Put the checkpoint back to the deployment block, as an older backup of it would.
    const block = await ethers.provider.getBlock(f.startBlock);
    indexer.read((db) =>
      db
        .prepare("UPDATE checkpoint SET block_number = ?, block_hash = ?, block_timestamp = ?")
        .run(f.startBlock, block?.hash, block?.timestamp),
    );
    const again = await indexer.syncOnce();
    expect(again.fromBlock).to.equal(f.startBlock + 1);
    expect(again.events).to.equal(0);
    expect(snapshotOf(indexer, f)).to.deep.equal(before);
    await indexer.close();
  });

  it("goes on from the checkpoint after a restart, picking up what happened while it was down, once", async () => {
    const f = await indexedFixture();
    const tmp = tempDir();
    try {
      const dbPath = tmp.path("index.sqlite");
      const first = new Indexer({
        provider: ethers.provider,
        addresses: f.addresses,
        dbPath,
        confirmations: 0,
        startBlock: f.startBlock,
      });
      await activity(f, "before");
      await first.syncOnce();
      const stopped = first.checkpoint();
      await first.close();

      await activity(f, "while-down-1");
      await activity(f, "while-down-2");

      const recorder = recordingProvider();
      const second = new Indexer({
        provider: recorder.provider,
        addresses: f.addresses,
        dbPath,
        confirmations: 0,
        startBlock: 0, // ignored: the database has a checkpoint
      });
      expect(second.checkpoint()).to.deep.equal(stopped);
      const result = await second.syncOnce();
      expect(result.events).to.equal(6);
      expect(recorder.ranges[0][0]).to.equal(stopped.blockNumber + 1);
      expect(second.updatesOf(f.twinId).map((u) => u.sequence)).to.deep.equal([1n, 2n, 3n]);
      expect(second.requestsOf(f.twinId, "pending")).to.have.length(3);

      // The same as indexing the whole chain in one go.
      const fresh = indexerFor(f);
      await fresh.syncOnce();
      expect(snapshotOf(second, f)).to.deep.equal(snapshotOf(fresh, f));
      expect(second.eventCount()).to.equal(await chainLogCount(f));

      // A reader in another connection sees the same rows.
      const reader = new IndexReader(dbPath);
      expect(reader.checkpoint()).to.deep.equal(second.checkpoint());
      expect(reader.updatesOf(f.twinId)).to.deep.equal(second.updatesOf(f.twinId));
      reader.close();

      await second.close();
      await fresh.close();
      await expectRejectCode(second.syncOnce(), "INDEXER_CLOSED");
    } finally {
      tmp.cleanup();
    }
  });

  it("does not index the last `confirmations` blocks until more are mined", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f, { confirmations: 2 });
    await indexer.syncOnce();

    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    const suspendedAt = await ethers.provider.getBlockNumber();
    let result = await indexer.syncOnce();
    expect(result.safeHead).to.equal(suspendedAt - 2);
    expect(indexer.checkpoint().blockNumber).to.equal(suspendedAt - 2);
    expect(indexer.twin(f.twinId)?.status).to.equal(TwinStatus.Active);

    await mine(1);
    await indexer.syncOnce();
    expect(indexer.twin(f.twinId)?.status).to.equal(TwinStatus.Active);

    await mine(1);
    result = await indexer.syncOnce();
    expect(result.events).to.equal(1);
    expect(indexer.checkpoint().blockNumber).to.equal(suspendedAt);
    expect(indexer.twin(f.twinId)?.status).to.equal(TwinStatus.Suspended);
    await indexer.close();
  });

  it("splits the blocks into ranges of at most batchBlocks, one commit each", async () => {
    const f = await indexedFixture();
    const recorder = recordingProvider();
    const indexer = indexerFor(f, { provider: recorder.provider, batchBlocks: 3 });
    for (const label of ["a", "b", "c"]) {
      await activity(f, label);
      await mine(2);
    }
    const head = await ethers.provider.getBlockNumber();
    const result = await indexer.syncOnce();

    expect(recorder.ranges[0][0]).to.equal(f.startBlock);
    expect(recorder.ranges.at(-1)?.[1]).to.equal(head);
    for (const [i, [from, to]] of recorder.ranges.entries()) {
      expect(to - from + 1).to.be.at.most(3);
      if (i > 0) expect(from).to.equal(recorder.ranges[i - 1][1] + 1);
    }
    expect(result.ranges).to.equal(recorder.ranges.length);
    expect(result.ranges).to.equal(Math.ceil((head - f.startBlock + 1) / 3));
    expect(result.events).to.equal(await chainLogCount(f));
    expect(indexer.updatesOf(f.twinId).map((u) => u.sequence)).to.deep.equal([1n, 2n, 3n]);
    await indexer.close();
  });

  it("leaves the checkpoint and the rows unchanged when a range fails inside its transaction", async () => {
    const f = await indexedFixture();
    const tmp = tempDir();
    try {
      const dbPath = tmp.path("crash.sqlite");
      const options = { provider: ethers.provider, addresses: f.addresses, dbPath, confirmations: 0 };
      const crashing = new Indexer({ ...options, startBlock: f.startBlock, extensions: [failingOnSuspend(f)] });
      await crashing.syncOnce();
      const good = crashing.checkpoint();
      const goodEvents = crashing.eventCount();

      // One range: a source change, then the suspension that fails, then an update.
      await f.registry.connect(f.patient).removeSource(f.twinId, f.wearable.address);
      await f.registry.connect(f.patient).suspendTwin(f.twinId);
      await f.registry.connect(f.patient).resumeTwin(f.twinId);
      const error = await expectRejectCode(crashing.syncOnce(), "INDEXER_DECODE");
      expect(error.message).to.contain("crash.TwinSuspended");

      expect(crashing.checkpoint()).to.deep.equal(good);
      expect(crashing.eventCount()).to.equal(goodEvents);
      expect(crashing.sourcesOf(f.twinId).map((s) => s.source)).to.include(f.wearable.address);
      expect(crashing.historyOf(f.twinId).map((h) => h.kind)).to.deep.equal(["created"]);
      await crashing.close();

      // Restarted without the faulty code, it indexes the range exactly once.
      const restarted = new Indexer(options);
      const result = await restarted.syncOnce();
      expect(result.fromBlock).to.equal(good.blockNumber + 1);
      expect(result.events).to.equal(3);
      expect(restarted.sourcesOf(f.twinId).map((s) => s.source)).to.deep.equal([f.emr.address]);
      expect(restarted.historyOf(f.twinId).map((h) => h.kind)).to.deep.equal(["created", "suspended", "resumed"]);
      expect(restarted.eventCount()).to.equal(await chainLogCount(f));
      await restarted.close();
    } finally {
      tmp.cleanup();
    }
  });

  it("commits the ranges before a failing one and stops at it", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f, { batchBlocks: 2, extensions: [failingOnSuspend(f)] });
    await indexer.syncOnce();
    await activity(f, "a"); // three blocks
    await mine(1);
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    const suspendedAt = await ethers.provider.getBlockNumber();
    await mine(3);

    await expectRejectCode(indexer.syncOnce(), "INDEXER_DECODE");
    const checkpoint = indexer.checkpoint();
    expect(checkpoint.blockNumber).to.be.lessThan(suspendedAt);
    expect(checkpoint.blockNumber).to.be.at.least(suspendedAt - 2);
    expect(indexer.updatesOf(f.twinId).map((u) => u.sequence)).to.deep.equal([1n]);
    expect(checkpoint.blockHash).to.equal((await ethers.provider.getBlock(checkpoint.blockNumber))?.hash);
    await indexer.close();
  });

  it("throws INDEXER_REORG when the indexed blocks are replaced, and commits nothing", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f);
    await indexer.syncOnce();
    const snapshot: string = await network.provider.send("evm_snapshot");

    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await mine(2);
    await indexer.syncOnce();
    const checkpoint = indexer.checkpoint();
    expect(indexer.twin(f.twinId)?.status).to.equal(TwinStatus.Suspended);

    // Another history from the snapshot on, longer than the indexed one.
    await network.provider.send("evm_revert", [snapshot]);
    await f.registry.connect(f.patient).authorizeSource(f.twinId, f.stranger.address, SourceKind.App, 1);
    await mine(4);
    expect(await ethers.provider.getBlockNumber()).to.be.greaterThan(checkpoint.blockNumber);

    const error = await expectRejectCode(indexer.syncOnce(), "INDEXER_REORG");
    expect(error.message).to.contain(String(checkpoint.blockNumber));
    expect(indexer.checkpoint()).to.deep.equal(checkpoint);
    expect(indexer.twinsOfSource(f.stranger.address)).to.deep.equal([]);
    await indexer.close();
  });

  it("throws INDEXER_REORG when the chain moves while a range is read, then indexes it once on retry", async () => {
    const f = await indexedFixture();
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    const head = await ethers.provider.getBlockNumber();
    // The node answers block `head` with another hash on the second call only: a reorg between two reads.
    let calls = 0;
    const moving: IndexerProvider = {
      ...recordingProvider().provider,
      getBlock: async (tag, prefetch) => {
        const block = await ethers.provider.getBlock(tag, prefetch);
        if (tag !== head || block === null || ++calls !== 2) return block;
        return { ...block, hash: ethers.id("another block"), timestamp: block.timestamp } as unknown as Block;
      },
    };
    const indexer = indexerFor(f, { provider: moving });
    const error = await expectRejectCode(indexer.syncOnce(), "INDEXER_REORG");
    expect(error.message).to.contain("changed while");
    expect(indexer.checkpoint().blockNumber).to.equal(f.startBlock - 1);
    expect(indexer.eventCount()).to.equal(0);

    const retry = await indexer.syncOnce();
    expect(retry.events).to.equal(await chainLogCount(f));
    expect(indexer.twin(f.twinId)?.status).to.equal(TwinStatus.Suspended);
    await indexer.close();
  });

  it("stops the polling loop on a reorg and reports the error", async () => {
    const f = await indexedFixture();
    const errors: unknown[] = [];
    const indexer = indexerFor(f, { onError: (error) => errors.push(error) });
    await indexer.syncOnce();
    const snapshot: string = await network.provider.send("evm_snapshot");
    await mine(2);
    await indexer.syncOnce();
    await network.provider.send("evm_revert", [snapshot]);
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await mine(3);

    indexer.start(10);
    await waitFor(() => !indexer.isPolling);
    expect(errors).to.have.length(1);
    expect(indexer.lastError).to.equal(errors[0]);
    expect((errors[0] as { code: string }).code).to.equal("INDEXER_REORG");
    await indexer.close();
  });

  it("polls with start/stop and picks up new events", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f);
    indexer.start(20);
    indexer.start(20); // no second loop
    await waitFor(() => indexer.twin(f.twinId) !== null);
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await waitFor(() => indexer.twin(f.twinId)?.status === TwinStatus.Suspended);
    await indexer.stop();
    expect(indexer.isPolling).to.equal(false);

    const checkpoint = indexer.checkpoint();
    await f.registry.connect(f.patient).resumeTwin(f.twinId);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(indexer.checkpoint()).to.deep.equal(checkpoint);
    expect(indexer.eventCount()).to.equal((await chainLogCount(f)) - 1);
    await indexer.close();
  });

  it("refuses a database built for other contracts or another chain", async () => {
    const f = await indexedFixture();
    const tmp = tempDir();
    try {
      const dbPath = tmp.path("identity.sqlite");
      const indexer = new Indexer({ provider: ethers.provider, addresses: f.addresses, dbPath, confirmations: 0 });
      await indexer.syncOnce();
      await indexer.close();

      expectCode(
        () =>
          new Indexer({
            provider: ethers.provider,
            addresses: { ...f.addresses, consent: f.stranger.address },
            dbPath,
          }),
        "INDEXER_CONFIG_MISMATCH",
      );
      const otherChain = new Indexer({
        provider: recordingProvider(ethers.provider, 999n).provider,
        addresses: f.addresses,
        dbPath,
      });
      await expectRejectCode(otherChain.syncOnce(), "INDEXER_CONFIG_MISMATCH");
      await otherChain.close();
    } finally {
      tmp.cleanup();
    }
  });

  it("migrates once, keeps the version per component, and validates its options", async () => {
    const f = await indexedFixture();
    const tmp = tempDir();
    try {
      const dbPath = tmp.path("schema.sqlite");
      const extension: IndexerExtension = {
        name: "anchors",
        address: f.addresses.registry,
        contractInterface: TwinRegistry__factory.createInterface(),
        migrations: [
          "CREATE TABLE anchors_seen (block_number INTEGER, log_index INTEGER, name TEXT, PRIMARY KEY (block_number, log_index))",
        ],
        apply(event, db) {
          db.prepare("INSERT INTO anchors_seen VALUES (?, ?, ?)").run(
            event.position.blockNumber,
            event.position.logIndex,
            event.name,
          );
        },
      };
      const options = { provider: ethers.provider, addresses: f.addresses, dbPath, confirmations: 0 };
      const first = new Indexer({ ...options, startBlock: f.startBlock, extensions: [extension] });
      await first.syncOnce();
      const versions = () =>
        first.read((db) => db.prepare("SELECT component, version FROM schema_version ORDER BY component").all());
      expect(versions()).to.deep.equal([
        { component: "anchors", version: 1 },
        { component: "core", version: 3 },
      ]);
      const seen = first.read((db) => db.prepare("SELECT COUNT(*) AS n FROM anchors_seen").get()) as { n: number };
      const registryLogs = first.read(
        (db) => db.prepare("SELECT COUNT(*) AS n FROM events WHERE contract = 'registry'").get() as { n: number },
      );
      expect(seen.n).to.equal(registryLogs.n);
      await first.close();

      const second = new Indexer({ ...options, extensions: [extension] });
      expect(second.eventCount()).to.be.greaterThan(0);
      await second.close();

      expectCode(() => new Indexer({ ...options, dbPath: ":memory:", batchBlocks: 0 }), "INDEXER_INVALID_ARGUMENT");
      expectCode(() => new Indexer({ ...options, dbPath: ":memory:", confirmations: -1 }), "INDEXER_INVALID_ARGUMENT");
      expectCode(
        () => new Indexer({ ...options, dbPath: ":memory:", extensions: [{ ...extension, name: "core" }] }),
        "INDEXER_INVALID_ARGUMENT",
      );
      expectCode(() => new IndexReader(tmp.path("missing.sqlite")), "INDEXER_SCHEMA");
    } finally {
      tmp.cleanup();
    }
  });

  it("regression: refuses a database of the v1 contracts (core schema 2) untouched, asking to re-index", async () => {
    const f = await indexedFixture();
    const tmp = tempDir();
    try {
      const dbPath = tmp.path("v1.sqlite");
      // A database as the v1 indexer left it: core schema 2, bound to (v1) contracts, with rows.
      const v1 = new Database(dbPath);
      migrate(v1, CORE_COMPONENT, CORE_MIGRATIONS.slice(0, 2));
      v1.prepare("INSERT INTO meta (key, value) VALUES ('registry', ?)").run(f.addresses.registry);
      v1.close();

      const options = { provider: ethers.provider, addresses: f.addresses, dbPath, confirmations: 0 };
      const error = expectCode(() => new Indexer(options), "INDEXER_REINDEX_REQUIRED");
      expect(error.message)
        .to.match(/version 2/)
        .and.to.match(/re-index/);
      expectCode(() => new IndexReader(dbPath), "INDEXER_REINDEX_REQUIRED");

      const after = new Database(dbPath, { readonly: true });
      expect(after.prepare("SELECT version FROM schema_version WHERE component = 'core'").get()).to.deep.equal({
        version: 2,
      });
      expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'record_batches'").get()).to.equal(undefined);
      after.close();

      // A new file for the same (v2) contracts indexes from the start block.
      const fresh = new Indexer({ ...options, dbPath: tmp.path("v2.sqlite"), startBlock: f.startBlock });
      await fresh.syncOnce();
      expect(fresh.twin(f.twinId)).to.not.equal(null);
      await fresh.close();
    } finally {
      tmp.cleanup();
    }
  });

  it("migration 3 moves version 2 tables forward, carrying rows whose meaning survives", () => {
    const db = new Database(":memory:");
    migrate(db, CORE_COMPONENT, CORE_MIGRATIONS.slice(0, 2));
    const twin = ethers.id("twin");
    const at = { block_number: 5, log_index: 0, block_timestamp: 1000, tx_hash: ethers.id("tx") };
    db.prepare(
      `INSERT INTO batches VALUES (@twin, @root, @source, 10, 1, 2, @block_number, @log_index, @block_timestamp, @tx_hash)`,
    ).run({ ...at, twin, root: ethers.id("root"), source: ZeroAddress });
    db.prepare(
      `INSERT INTO state_commits VALUES (@twin, '00000000000000000007', @source, @root, @root,
         @block_number, 1, @block_timestamp, @tx_hash)`,
    ).run({ ...at, twin, root: ethers.id("root"), source: ZeroAddress });
    db.prepare(
      `INSERT INTO delegates VALUES (@twin, @source, 1, 0, 900, @tx_hash, @block_number, @block_timestamp, @source)`,
    ).run({ ...at, twin, source: ZeroAddress });

    expect(migrate(db, CORE_COMPONENT, CORE_MIGRATIONS)).to.equal(V2_CONTRACTS_SCHEMA);
    expect(db.prepare("SELECT twin_id, source, merkle_root FROM batches").all()).to.deep.equal([
      { twin_id: twin, source: ZeroAddress, merkle_root: ethers.id("root") },
    ]);
    expect(db.prepare("SELECT epoch, version FROM state_commits").all()).to.deep.equal([
      { epoch: 1, version: "00000000000000000007" },
    ]);
    expect(db.prepare("SELECT end_reason FROM delegates").all()).to.deep.equal([{ end_reason: "removed" }]);
    for (const table of ["record_batches", "grant_epochs", "blocked_accounts", "cancelled_nonces", "default_admin"]) {
      expect(db.prepare("SELECT COUNT(*) AS n FROM " + table).get()).to.deep.equal({ n: 0 });
    }
    db.close();
  });
});
