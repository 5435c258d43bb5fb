import { expect } from "chai";
import { ethers } from "hardhat";
import { DataCategory, SourceKind } from "../../../src/vocabulary";
import { WEARABLE_CATEGORIES } from "../../fixtures";
import { verifyUpdateChain } from "../../../src/chain/anchors";
import { expectCode, indexedFixture, indexerFor, describeEachBackend } from "./harness";

/** A stand-in content id: 36 bytes shaped like a binary CIDv1 (version, codec, sha2-256 multihash). */
function cidOf(label: string): string {
  return ethers.concat(["0x01551220", ethers.id(label)]);
}

describeEachBackend("indexer: TwinUpdateLog events", () => {
  it("indexes updates with sequence, category, content hash, cid, head and block, and pages them", async () => {
    const f = await indexedFixture();
    const { updateLog, emr, twinId } = f;
    const indexer = await indexerFor(f);

    const categories = [DataCategory.LABS, DataCategory.CONDITIONS, DataCategory.VITALS, DataCategory.LABS];
    for (const [i, category] of categories.entries()) {
      await updateLog.connect(emr).recordUpdate(twinId, category, ethers.id(`blob-${i}`), cidOf(`blob-${i}`));
    }
    await indexer.syncOnce();

    const updates = await indexer.updatesOf(twinId);
    expect(updates.map((u) => u.sequence)).to.deep.equal([1n, 2n, 3n, 4n]);
    expect(updates.map((u) => (u.kind === "update" ? u.category : null))).to.deep.equal(categories);
    expect(updates[2]).to.deep.include({
      kind: "update",
      twinId: twinId.toLowerCase(),
      source: emr.address,
      contentHash: ethers.id("blob-2"),
      cid: cidOf("blob-2").toLowerCase(),
    });
    const recorded = await updateLog.queryFilter(updateLog.filters.UpdateRecorded(twinId));
    expect(updates.map((u) => [u.position.blockNumber, u.position.logIndex, u.position.transactionHash])).to.deep.equal(
      recorded.map((e) => [e.blockNumber, e.index, e.transactionHash]),
    );
    // The last indexed head is the chain's head.
    const head = await updateLog.logHeadOf(twinId);
    expect(updates[3].head).to.equal(head.head.toLowerCase());
    expect(BigInt(updates.length)).to.equal(head.sequence);
    expect(await indexer.updateCount(twinId)).to.equal(4);

    expect((await indexer.updatesOf(twinId, { fromSequence: 2, limit: 2 })).map((u) => u.sequence)).to.deep.equal([
      2n,
      3n,
    ]);
    expect((await indexer.updatesOf(twinId, { fromSequence: 4n })).map((u) => u.sequence)).to.deep.equal([4n]);
    expect(await indexer.updatesOf(twinId, { fromSequence: 5 })).to.deep.equal([]);
    await indexer.close();
  });

  it("orders sequences numerically beyond nine (stored as sortable text)", async () => {
    const f = await indexedFixture();
    const { updateLog, emr, twinId } = f;
    const indexer = await indexerFor(f);
    for (let i = 0; i < 12; i++) {
      await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id(`b${i}`), cidOf(`b${i}`));
    }
    await indexer.syncOnce();
    expect((await indexer.updatesOf(twinId, { fromSequence: 9, limit: 3 })).map((u) => u.sequence)).to.deep.equal([
      9n,
      10n,
      11n,
    ]);
    await indexer.close();
  });

  it("indexes RecordsAnchored as steps of the same chain: both kinds in sequence order, the chain verifies", async () => {
    const f = await indexedFixture();
    const { updateLog, emr, twinId } = f;
    const indexer = await indexerFor(f);
    const bundle = DataCategory.CONDITIONS | DataCategory.LABS | DataCategory.MEDICATIONS;

    await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("blob-1"), cidOf("blob-1"));
    await updateLog.connect(emr).anchorRecords(twinId, ethers.id("records-1"), bundle);
    await updateLog.connect(emr).recordUpdate(twinId, DataCategory.VITALS, ethers.id("blob-2"), cidOf("blob-2"));
    await updateLog.connect(emr).anchorRecords(twinId, ethers.id("records-2"), DataCategory.VITALS);
    await indexer.syncOnce();

    const entries = await indexer.updatesOf(twinId);
    expect(entries.map((e) => [e.sequence, e.kind])).to.deep.equal([
      [1n, "update"],
      [2n, "records"],
      [3n, "update"],
      [4n, "records"],
    ]);
    expect(entries[1]).to.deep.include({
      kind: "records",
      twinId: twinId.toLowerCase(),
      source: emr.address,
      categories: bundle,
      recordsRoot: ethers.id("records-1"),
    });
    const anchored = await updateLog.queryFilter(updateLog.filters.RecordsAnchored(twinId));
    expect(entries.filter((e) => e.kind === "records").map((e) => [e.head, e.position.transactionHash])).to.deep.equal(
      anchored.map((e) => [e.args.head.toLowerCase(), e.transactionHash]),
    );
    expect(await indexer.updateCount(twinId)).to.equal(4);
    expect((await indexer.updatesOf(twinId, { fromSequence: 2, limit: 2 })).map((e) => e.kind)).to.deep.equal([
      "records",
      "update",
    ]);

    // The indexed chain is the on-chain one, through src/chain/anchors.ts verifyUpdateChain (both kinds).
    const onChainHead = await updateLog.logHeadOf(twinId);
    expect(await indexer.verifyLogChain(twinId, onChainHead)).to.deep.equal({
      valid: true,
      sequence: 4n,
      head: onChainHead.head.toLowerCase(),
    });
    expect(verifyUpdateChain(entries, onChainHead).valid).to.equal(true);
    expect((await indexer.verifyLogChain(twinId)).valid).to.equal(true);

    // The batch by the key the contract uses, and record batches alone.
    expect((await indexer.recordBatch(twinId, emr.address, ethers.id("records-2")))?.sequence).to.equal(4n);
    expect(await indexer.recordBatch(twinId, f.wearable.address, ethers.id("records-2"))).to.equal(null);
    expect((await indexer.recordBatchesOf(twinId)).map((b) => b.recordsRoot)).to.deep.equal([
      ethers.id("records-1"),
      ethers.id("records-2"),
    ]);
    await expectCode(async () => await indexer.recordBatch(twinId, emr.address, "0x1234"), "INDEXER_INVALID_ARGUMENT");

    // An altered row is caught.
    await indexer.read((db) =>
      db.run("UPDATE record_batches SET categories = ? WHERE records_root = ?", [
        DataCategory.LABS,
        ethers.id("records-1"),
      ]),
    );
    const tampered = await indexer.verifyLogChain(twinId, onChainHead);
    expect(tampered.valid).to.equal(false);
    expect(tampered.valid === false && tampered.fault).to.equal("HEAD_MISMATCH");
    expect(tampered.valid === false && tampered.index).to.equal(1);
    await indexer.close();
  });

  it("indexes reading batches keyed by (twin, source, root), without count or range", async () => {
    const f = await indexedFixture();
    const { registry, updateLog, patient, wearable, stranger: watch, twinId } = f;
    const indexer = await indexerFor(f);
    await registry.connect(patient).authorizeSource(twinId, watch.address, SourceKind.Device, WEARABLE_CATEGORIES);

    await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root-1"));
    await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root-2"));
    // The same root by another source of the twin is another batch (v2: no front-running of a source's root).
    await updateLog.connect(watch).anchorBatch(twinId, ethers.id("root-1"));
    await indexer.syncOnce();

    const batches = await indexer.batchesOf(twinId);
    expect(batches.map((b) => [b.source, b.merkleRoot])).to.deep.equal([
      [wearable.address, ethers.id("root-1")],
      [wearable.address, ethers.id("root-2")],
      [watch.address, ethers.id("root-1")],
    ]);
    expect(Object.keys(batches[0]).sort()).to.deep.equal(["merkleRoot", "position", "source", "twinId"]);
    const batch = await indexer.batch(twinId, watch.address, ethers.id("root-1"));
    const anchoredAt = (await updateLog.batchOf(twinId, watch.address, ethers.id("root-1"))).anchoredAt;
    expect(batch?.position.timestamp).to.equal(Number(anchoredAt));
    expect(await indexer.batch(twinId, watch.address, ethers.id("root-2"))).to.equal(null);
    await indexer.close();
  });

  it("indexes state commitments per custodian epoch: versions restart at 1 with a new custodian", async () => {
    const f = await indexedFixture();
    const { registry, updateLog, patient, hospital, hospital2, twinId } = f;
    const indexer = await indexerFor(f);

    await updateLog.connect(hospital).commitTwinState(twinId, ethers.id("state-1"), ethers.id("sources-1"), 1);
    await updateLog.connect(hospital).commitTwinState(twinId, ethers.id("state-2"), ethers.id("sources-2"), 2);
    await registry.connect(patient).changeCustodian(twinId, hospital2.address);
    await updateLog.connect(hospital2).commitTwinState(twinId, ethers.id("state-3"), ethers.id("sources-3"), 1);
    await indexer.syncOnce();

    const commits = await indexer.stateCommitsOf(twinId);
    expect(commits.map((c) => [c.epoch, c.version, c.custodian, c.stateRoot, c.sourcesRoot])).to.deep.equal([
      [1, 1n, hospital.address, ethers.id("state-1"), ethers.id("sources-1")],
      [1, 2n, hospital.address, ethers.id("state-2"), ethers.id("sources-2")],
      [2, 1n, hospital2.address, ethers.id("state-3"), ethers.id("sources-3")],
    ]);
    const onChain = await updateLog.twinStateOf(twinId);
    expect([BigInt(commits[2].epoch), commits[2].version]).to.deep.equal([onChain.epoch, onChain.version]);
    expect(commits[2].position.blockNumber).to.equal(Number(onChain.blockNumber));
    await indexer.close();
  });
});
