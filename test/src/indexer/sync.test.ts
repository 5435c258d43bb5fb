import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { Block } from "ethers";
import { ethers, network } from "hardhat";
import { TwinRegistry__factory } from "../../../typechain-types";
import {
  CORE_MIGRATIONS,
  Indexer,
  IndexReader,
  POSTGRES_CORE_MIGRATIONS,
  type IndexerExtension,
  type IndexerProvider,
} from "../../../src/indexer";
import { DataCategory, TwinStatus } from "../../../src/vocabulary";
import {
  backend,
  chainLogCount,
  describeEachBackend,
  dumpOf,
  expectCode,
  expectSameAsFromScratch,
  expectRejectCode,
  indexedFixture,
  indexerFor,
  recordingProvider,
  storeLocation,
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
async function snapshotOf(indexer: Indexer, f: IndexedFixture) {
  return {
    twin: await indexer.twin(f.twinId),
    history: await indexer.historyOf(f.twinId),
    requests: await indexer.requestsOf(f.twinId),
    updates: await indexer.updatesOf(f.twinId, { limit: 1000 }),
    consents: await indexer.consentsOf(f.twinId, { at: 0 }),
    events: await indexer.eventsOf(f.twinId),
    eventCount: await indexer.eventCount(),
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

describeEachBackend("indexer: sync, restart and chain safety", () => {
  beforeEach(() => {
    nextRequester = 12;
  });

  it("counts nothing twice when synced again", async () => {
    const f = await indexedFixture();
    const indexer = await indexerFor(f);
    const first = await indexer.syncOnce();
    expect(first.events).to.be.greaterThan(0);
    const before = await snapshotOf(indexer, f);

    const second = await indexer.syncOnce();
    expect(second.events).to.equal(0);
    expect(second.ranges).to.equal(0);
    expect(second.fromBlock).to.equal(null);
    expect(await snapshotOf(indexer, f)).to.deep.equal(before);

    await activity(f, "a");
    expect((await indexer.syncOnce()).events).to.equal(3);
    expect(await indexer.eventCount()).to.equal(await chainLogCount(f));
    await indexer.close();
  });

  it("skips logs already indexed even if the checkpoint is set back (the per-log guard)", async () => {
    const f = await indexedFixture();
    const indexer = await indexerFor(f);
    await activity(f, "a");
    await indexer.syncOnce();
    const before = await snapshotOf(indexer, f);

    // Put the checkpoint back to the deployment block, as an older backup of it would.
    const block = await ethers.provider.getBlock(f.startBlock);
    await indexer.read((db) =>
      db.run("UPDATE checkpoint SET block_number = ?, block_hash = ?, block_timestamp = ?", [
        f.startBlock,
        block?.hash,
        block?.timestamp,
      ]),
    );
    const again = await indexer.syncOnce();
    expect(again.fromBlock).to.equal(f.startBlock + 1);
    expect(again.events).to.equal(0);
    expect(await snapshotOf(indexer, f)).to.deep.equal(before);
    await indexer.close();
  });

  it("goes on from the checkpoint after a restart, picking up what happened while it was down, once", async () => {
    const f = await indexedFixture();
    const { location, cleanup } = await storeLocation("restart");
    try {
      const first = await Indexer.open({
        provider: ethers.provider,
        addresses: f.addresses,
        ...location,
        confirmations: 0,
        startBlock: f.startBlock,
      });
      await activity(f, "before");
      await first.syncOnce();
      const stopped = await first.checkpoint();
      await first.close();

      await activity(f, "while-down-1");
      await activity(f, "while-down-2");

      const recorder = recordingProvider();
      const second = await Indexer.open({
        provider: recorder.provider,
        addresses: f.addresses,
        ...location,
        confirmations: 0,
        startBlock: 0, // ignored: the database has a checkpoint
      });
      expect(await second.checkpoint()).to.deep.equal(stopped);
      const result = await second.syncOnce();
      expect(result.events).to.equal(6);
      expect(recorder.ranges[0][0]).to.equal(stopped.blockNumber + 1);
      expect((await second.updatesOf(f.twinId)).map((u) => u.sequence)).to.deep.equal([1n, 2n, 3n]);
      expect(await second.requestsOf(f.twinId, "pending")).to.have.length(3);

      // The same as indexing the whole chain in one go.
      const fresh = await indexerFor(f);
      await fresh.syncOnce();
      expect(await snapshotOf(second, f)).to.deep.equal(await snapshotOf(fresh, f));
      expect(await second.eventCount()).to.equal(await chainLogCount(f));

      // A reader in another connection sees the same rows.
      const reader = await IndexReader.open(location);
      expect(await reader.checkpoint()).to.deep.equal(await second.checkpoint());
      expect(await reader.updatesOf(f.twinId)).to.deep.equal(await second.updatesOf(f.twinId));
      await reader.close();

      await second.close();
      await fresh.close();
      await expectRejectCode(second.syncOnce(), "INDEXER_CLOSED");
    } finally {
      cleanup();
    }
  });

  it("does not index the last `confirmations` blocks until more are mined", async () => {
    const f = await indexedFixture();
    const indexer = await indexerFor(f, { confirmations: 2 });
    await indexer.syncOnce();

    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    const suspendedAt = await ethers.provider.getBlockNumber();
    let result = await indexer.syncOnce();
    expect(result.safeHead).to.equal(suspendedAt - 2);
    expect((await indexer.checkpoint()).blockNumber).to.equal(suspendedAt - 2);
    expect((await indexer.twin(f.twinId))?.status).to.equal(TwinStatus.Active);

    await mine(1);
    await indexer.syncOnce();
    expect((await indexer.twin(f.twinId))?.status).to.equal(TwinStatus.Active);

    await mine(1);
    result = await indexer.syncOnce();
    expect(result.events).to.equal(1);
    expect((await indexer.checkpoint()).blockNumber).to.equal(suspendedAt);
    expect((await indexer.twin(f.twinId))?.status).to.equal(TwinStatus.Suspended);
    await indexer.close();
  });

  it("splits the blocks into ranges of at most batchBlocks, one commit each", async () => {
    const f = await indexedFixture();
    const recorder = recordingProvider();
    const indexer = await indexerFor(f, { provider: recorder.provider, batchBlocks: 3 });
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
    expect((await indexer.updatesOf(f.twinId)).map((u) => u.sequence)).to.deep.equal([1n, 2n, 3n]);
    await indexer.close();
  });

  it("leaves the checkpoint and the rows unchanged when a range fails inside its transaction", async () => {
    const f = await indexedFixture();
    const { location, cleanup } = await storeLocation("crash");
    try {
      const options = { provider: ethers.provider, addresses: f.addresses, ...location, confirmations: 0 };
      const crashing = await Indexer.open({ ...options, startBlock: f.startBlock, extensions: [failingOnSuspend(f)] });
      await crashing.syncOnce();
      const good = await crashing.checkpoint();
      const goodEvents = await crashing.eventCount();

      // One range: a source change, then the suspension that fails, then an update.
      await f.registry.connect(f.patient).removeSource(f.twinId, f.wearable.address);
      await f.registry.connect(f.patient).suspendTwin(f.twinId);
      await f.registry.connect(f.patient).resumeTwin(f.twinId);
      const error = await expectRejectCode(crashing.syncOnce(), "INDEXER_DECODE");
      expect(error.message).to.contain("crash.TwinSuspended");

      expect(await crashing.checkpoint()).to.deep.equal(good);
      expect(await crashing.eventCount()).to.equal(goodEvents);
      expect((await crashing.sourcesOf(f.twinId)).map((s) => s.source)).to.include(f.wearable.address);
      expect((await crashing.historyOf(f.twinId)).map((h) => h.kind)).to.deep.equal(["created"]);
      await crashing.close();

      // Restarted without the faulty code, it indexes the range exactly once.
      const restarted = await Indexer.open(options);
      const result = await restarted.syncOnce();
      expect(result.fromBlock).to.equal(good.blockNumber + 1);
      expect(result.events).to.equal(3);
      expect((await restarted.sourcesOf(f.twinId)).map((s) => s.source)).to.deep.equal([f.emr.address]);
      expect((await restarted.historyOf(f.twinId)).map((h) => h.kind)).to.deep.equal([
        "created",
        "suspended",
        "resumed",
      ]);
      expect(await restarted.eventCount()).to.equal(await chainLogCount(f));
      await restarted.close();
    } finally {
      cleanup();
    }
  });

  it("commits the ranges before a failing one and stops at it", async () => {
    const f = await indexedFixture();
    const indexer = await indexerFor(f, { batchBlocks: 2, extensions: [failingOnSuspend(f)] });
    await indexer.syncOnce();
    await activity(f, "a"); // three blocks
    await mine(1);
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    const suspendedAt = await ethers.provider.getBlockNumber();
    await mine(3);

    await expectRejectCode(indexer.syncOnce(), "INDEXER_DECODE");
    const checkpoint = await indexer.checkpoint();
    expect(checkpoint.blockNumber).to.be.lessThan(suspendedAt);
    expect(checkpoint.blockNumber).to.be.at.least(suspendedAt - 2);
    expect((await indexer.updatesOf(f.twinId)).map((u) => u.sequence)).to.deep.equal([1n]);
    expect(checkpoint.blockHash).to.equal((await ethers.provider.getBlock(checkpoint.blockNumber))?.hash);
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
    const indexer = await indexerFor(f, { provider: moving });
    const error = await expectRejectCode(indexer.syncOnce(), "INDEXER_REORG");
    expect(error.message).to.contain("changed while");
    expect((await indexer.checkpoint()).blockNumber).to.equal(f.startBlock - 1);
    expect(await indexer.eventCount()).to.equal(0);

    const retry = await indexer.syncOnce();
    expect(retry.events).to.equal(await chainLogCount(f));
    expect((await indexer.twin(f.twinId))?.status).to.equal(TwinStatus.Suspended);
    await indexer.close();
  });

  it("a second writer on the same database cannot commit a range computed from a checkpoint that moved", async () => {
    const f = await indexedFixture();
    const { location, cleanup } = await storeLocation("writers");
    try {
      const options = { addresses: f.addresses, ...location, confirmations: 0, startBlock: f.startBlock };
      const first = await Indexer.open({ ...options, provider: ethers.provider });
      // The second writer reads its range while the first indexes the same blocks and commits.
      const racing: IndexerProvider = {
        ...recordingProvider().provider,
        getLogs: async (filter) => {
          const logs = await ethers.provider.getLogs(filter);
          await first.syncOnce();
          return logs;
        },
      };
      const second = await Indexer.open({ ...options, provider: racing });
      const error = await expectRejectCode(second.syncOnce(), "INDEXER_REORG");
      expect(error.message).to.contain("checkpoint moved");
      expect(await second.eventCount()).to.equal(await chainLogCount(f));

      const again = await second.syncOnce();
      expect(again.ranges).to.equal(0);
      expect(await first.eventCount()).to.equal(await chainLogCount(f));
      expect(await dumpOf(first)).to.deep.equal(await dumpOf(second));
      await expectSameAsFromScratch(first, f);
      await first.close();
      await second.close();
    } finally {
      cleanup();
    }
  });

  it("keeps polling through a reorg and repairs the index", async () => {
    const f = await indexedFixture();
    const errors: unknown[] = [];
    const indexer = await indexerFor(f, { onError: (error) => errors.push(error) });
    await indexer.syncOnce();
    const snapshot: string = await network.provider.send("evm_snapshot");
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await mine(2);
    await indexer.syncOnce();
    expect((await indexer.twin(f.twinId))?.status).to.equal(TwinStatus.Suspended);
    await network.provider.send("evm_revert", [snapshot]);
    await f.registry.connect(f.patient).updateMetadata(f.twinId, ethers.id("metadata:after-reorg"));
    await mine(3);
    const head = await ethers.provider.getBlock("latest");

    indexer.start(10);
    await waitFor(async () => (await indexer.checkpoint()).blockHash === head?.hash);
    expect(indexer.isPolling).to.equal(true);
    expect(errors).to.deep.equal([]);
    const twin = await indexer.twin(f.twinId);
    expect(twin?.status).to.equal(TwinStatus.Active);
    expect(twin?.metadataCommitment).to.equal(ethers.id("metadata:after-reorg"));
    await indexer.close();
  });

  it("polls with start/stop and picks up new events", async () => {
    const f = await indexedFixture();
    const indexer = await indexerFor(f);
    indexer.start(20);
    indexer.start(20); // no second loop
    await waitFor(async () => (await indexer.twin(f.twinId)) !== null);
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await waitFor(async () => (await indexer.twin(f.twinId))?.status === TwinStatus.Suspended);
    await indexer.stop();
    expect(indexer.isPolling).to.equal(false);

    const checkpoint = await indexer.checkpoint();
    await f.registry.connect(f.patient).resumeTwin(f.twinId);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await indexer.checkpoint()).to.deep.equal(checkpoint);
    expect(await indexer.eventCount()).to.equal((await chainLogCount(f)) - 1);
    await indexer.close();
  });

  it("refuses a database built for other contracts or another chain", async () => {
    const f = await indexedFixture();
    const { location, cleanup } = await storeLocation("identity");
    try {
      const indexer = await Indexer.open({
        provider: ethers.provider,
        addresses: f.addresses,
        ...location,
        confirmations: 0,
      });
      await indexer.syncOnce();
      await indexer.close();

      await expectCode(
        async () =>
          await Indexer.open({
            provider: ethers.provider,
            addresses: { ...f.addresses, consent: f.stranger.address },
            ...location,
          }),
        "INDEXER_CONFIG_MISMATCH",
      );
      const otherChain = await Indexer.open({
        provider: recordingProvider(ethers.provider, 999n).provider,
        addresses: f.addresses,
        ...location,
      });
      await expectRejectCode(otherChain.syncOnce(), "INDEXER_CONFIG_MISMATCH");
      await otherChain.close();
    } finally {
      cleanup();
    }
  });

  it("migrates once, keeps the version per component, and validates its options", async () => {
    const f = await indexedFixture();
    const { location, cleanup } = await storeLocation("schema");
    try {
      const extension: IndexerExtension = {
        name: "anchors",
        address: f.addresses.registry,
        contractInterface: TwinRegistry__factory.createInterface(),
        migrations: [
          "CREATE TABLE anchors_seen (block_number BIGINT, log_index BIGINT, name TEXT, PRIMARY KEY (block_number, log_index))",
        ],
        async apply(event, db) {
          await db.run("INSERT INTO anchors_seen VALUES (?, ?, ?)", [
            event.position.blockNumber,
            event.position.logIndex,
            event.name,
          ]);
        },
        async rollback(ancestor, db) {
          await db.run("DELETE FROM anchors_seen WHERE block_number > ?", [ancestor]);
        },
      };
      const options = { provider: ethers.provider, addresses: f.addresses, ...location, confirmations: 0 };
      const first = await Indexer.open({ ...options, startBlock: f.startBlock, extensions: [extension] });
      await first.syncOnce();
      const versions = await first.read((db) =>
        db.all("SELECT component, version FROM schema_version ORDER BY component"),
      );
      const core = backend() === "sqlite" ? CORE_MIGRATIONS.length : POSTGRES_CORE_MIGRATIONS.length;
      expect(versions).to.deep.equal([
        { component: "anchors", version: 1 },
        { component: "core", version: core },
      ]);
      const count = (sql: string) => first.read(async (db) => (await db.get<{ n: number }>(sql))?.n);
      expect(await count("SELECT COUNT(*) AS n FROM anchors_seen")).to.equal(
        await count("SELECT COUNT(*) AS n FROM events WHERE contract = 'registry'"),
      );
      await first.close();

      const second = await Indexer.open({ ...options, extensions: [extension] });
      expect(await second.eventCount()).to.be.greaterThan(0);
      await second.close();

      const memory = { provider: ethers.provider, addresses: f.addresses, dbPath: ":memory:" };
      await expectCode(() => Indexer.open({ ...memory, batchBlocks: 0 }), "INDEXER_INVALID_ARGUMENT");
      await expectCode(() => Indexer.open({ ...memory, confirmations: -1 }), "INDEXER_INVALID_ARGUMENT");
      await expectCode(
        () => Indexer.open({ ...memory, extensions: [{ ...extension, name: "core" }] }),
        "INDEXER_INVALID_ARGUMENT",
      );
      await expectCode(
        () => Indexer.open({ ...memory, databaseUrl: "postgres://127.0.0.1:1/x" }),
        "INDEXER_INVALID_ARGUMENT",
      );
      const tmp = tempDir();
      await expectCode(() => IndexReader.open(tmp.path("missing.sqlite")), "INDEXER_SCHEMA");
      tmp.cleanup();
    } finally {
      cleanup();
    }
  });
});
