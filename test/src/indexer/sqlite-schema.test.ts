import { expect } from "chai";
import Database from "better-sqlite3";
import { ethers, network } from "hardhat";
import { ZeroAddress } from "ethers";
import { CORE_MIGRATIONS, Indexer, IndexReader, V2_CONTRACTS_SCHEMA } from "../../../src/indexer";
import { CORE_COMPONENT, migrate } from "../../../src/indexer/schema";
import { TwinStatus } from "../../../src/vocabulary";
import { expectCode, indexedFixture, tempDir } from "./harness";

describe("indexer: the SQLite schema's history (v1 databases, migrations 3 and 4)", () => {
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
      const error = await expectCode(() => Indexer.open(options), "INDEXER_REINDEX_REQUIRED");
      expect(error.message)
        .to.match(/version 2/)
        .and.to.match(/re-index/);
      await expectCode(() => IndexReader.open(dbPath), "INDEXER_REINDEX_REQUIRED");

      const after = new Database(dbPath, { readonly: true });
      expect(after.prepare("SELECT version FROM schema_version WHERE component = 'core'").get()).to.deep.equal({
        version: 2,
      });
      expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'record_batches'").get()).to.equal(undefined);
      after.close();

      // A new file for the same (v2) contracts indexes from the start block.
      const fresh = await Indexer.open({ ...options, dbPath: tmp.path("v2.sqlite"), startBlock: f.startBlock });
      await fresh.syncOnce();
      expect(await fresh.twin(f.twinId)).to.not.equal(null);
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

    expect(migrate(db, CORE_COMPONENT, CORE_MIGRATIONS.slice(0, V2_CONTRACTS_SCHEMA))).to.equal(V2_CONTRACTS_SCHEMA);
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

  it("migration 4 keeps the hashes of the blocks a version 3 database indexed and marks where its journal starts", () => {
    const db = new Database(":memory:");
    migrate(db, CORE_COMPONENT, CORE_MIGRATIONS.slice(0, 3));
    db.prepare("INSERT INTO checkpoint VALUES (1, 12, ?, 1200, 0)").run(ethers.id("block 12"));
    const event = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, 0, 'registry', ?, 'TwinCreated', NULL)");
    event.run(7, 0, ethers.id("block 7"), 700, ethers.id("tx"), ZeroAddress);
    event.run(7, 1, ethers.id("block 7"), 700, ethers.id("tx"), ZeroAddress);
    event.run(9, 0, ethers.id("block 9"), 900, ethers.id("tx"), ZeroAddress);

    expect(migrate(db, CORE_COMPONENT, CORE_MIGRATIONS)).to.equal(4);
    expect(db.prepare("SELECT * FROM blocks ORDER BY block_number").all()).to.deep.equal([
      { block_number: 7, block_hash: ethers.id("block 7"), block_timestamp: 700 },
      { block_number: 9, block_hash: ethers.id("block 9"), block_timestamp: 900 },
      { block_number: 12, block_hash: ethers.id("block 12"), block_timestamp: 1200 },
    ]);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'journal_from'").get()).to.deep.equal({ value: "12" });
    expect(db.prepare("SELECT COUNT(*) AS n FROM reorg_journal").get()).to.deep.equal({ n: 0 });
    db.close();
  });

  it("rebuilds from the start block on a reorg below where the journal starts (a database from version 3)", async () => {
    const f = await indexedFixture();
    const tmp = tempDir();
    try {
      const options = {
        provider: ethers.provider,
        addresses: f.addresses,
        dbPath: tmp.path("v3.sqlite"),
        confirmations: 0,
        startBlock: f.startBlock,
      };
      const indexer = await Indexer.open(options);
      const snapshot: string = await network.provider.send("evm_snapshot");
      await f.registry.connect(f.patient).suspendTwin(f.twinId);
      await indexer.syncOnce();
      // As migration 4 leaves a version 3 database: no journal for the blocks indexed so far.
      await indexer.read(async (db) => {
        await db.run("DELETE FROM reorg_journal");
        await db.run("INSERT INTO meta (key, value) SELECT 'journal_from', CAST(block_number AS TEXT) FROM checkpoint");
      });

      await network.provider.send("evm_revert", [snapshot]);
      await f.registry.connect(f.patient).updateMetadata(f.twinId, ethers.id("other"));
      const result = await indexer.syncOnce();
      expect(result.reorg).to.deep.include({ ancestor: f.startBlock - 1, rebuilt: true });
      expect(result.fromBlock).to.equal(f.startBlock);
      const twin = await indexer.twin(f.twinId);
      expect(twin?.status).to.equal(TwinStatus.Active);
      expect(twin?.metadataCommitment).to.equal(ethers.id("other"));
      expect(await indexer.read((db) => db.get("SELECT value FROM meta WHERE key = 'journal_from'"))).to.equal(
        undefined,
      );
      await indexer.close();
    } finally {
      tmp.cleanup();
    }
  });
});
