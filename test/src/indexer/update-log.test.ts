import { time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import { DataCategory } from "../../../src/vocabulary";
import { indexedFixture, indexerFor } from "./harness";

const UINT64_MAX = (1n << 64n) - 1n;

/** A stand-in content id: 36 bytes shaped like a binary CIDv1 (version, codec, sha2-256 multihash). */
function cidOf(label: string): string {
  return ethers.concat(["0x01551220", ethers.id(label)]);
}

describe("indexer: TwinUpdateLog events", () => {
  it("indexes updates with sequence, category, content hash, cid, head and block, and pages them", async () => {
    const f = await indexedFixture();
    const { updateLog, emr, twinId } = f;
    const indexer = indexerFor(f);

    const categories = [DataCategory.LABS, DataCategory.CONDITIONS, DataCategory.VITALS, DataCategory.LABS];
    for (const [i, category] of categories.entries()) {
      await updateLog.connect(emr).recordUpdate(twinId, category, ethers.id(`blob-${i}`), cidOf(`blob-${i}`));
    }
    await indexer.syncOnce();

    const updates = indexer.updatesOf(twinId);
    expect(updates.map((u) => u.sequence)).to.deep.equal([1n, 2n, 3n, 4n]);
    expect(updates.map((u) => u.category)).to.deep.equal(categories);
    expect(updates[2]).to.deep.include({
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
    expect(indexer.updateCount(twinId)).to.equal(4);

    expect(indexer.updatesOf(twinId, { fromSequence: 2, limit: 2 }).map((u) => u.sequence)).to.deep.equal([2n, 3n]);
    expect(indexer.updatesOf(twinId, { fromSequence: 4n }).map((u) => u.sequence)).to.deep.equal([4n]);
    expect(indexer.updatesOf(twinId, { fromSequence: 5 })).to.deep.equal([]);
    await indexer.close();
  });

  it("orders sequences numerically beyond nine (stored as sortable text)", async () => {
    const f = await indexedFixture();
    const { updateLog, emr, twinId } = f;
    const indexer = indexerFor(f);
    for (let i = 0; i < 12; i++) {
      await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id(`b${i}`), cidOf(`b${i}`));
    }
    await indexer.syncOnce();
    expect(indexer.updatesOf(twinId, { fromSequence: 9, limit: 3 }).map((u) => u.sequence)).to.deep.equal([
      9n,
      10n,
      11n,
    ]);
    await indexer.close();
  });

  it("indexes batches and state commitments, with uint64 versions as bigint", async () => {
    const f = await indexedFixture();
    const { updateLog, wearable, hospital, twinId } = f;
    const indexer = indexerFor(f);
    const now = await time.latest();

    await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root-1"), 1440, now - 86_400, now - 60);
    await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root-2"), 60, now - 59, now);
    await updateLog.connect(hospital).commitTwinState(twinId, ethers.id("state-1"), ethers.id("sources-1"), 1);
    await updateLog.connect(hospital).commitTwinState(twinId, ethers.id("state-2"), ethers.id("sources-2"), UINT64_MAX);
    await indexer.syncOnce();

    const batches = indexer.batchesOf(twinId);
    expect(batches.map((b) => [b.merkleRoot, b.source, b.count, b.from, b.to])).to.deep.equal([
      [ethers.id("root-1"), wearable.address, 1440, now - 86_400, now - 60],
      [ethers.id("root-2"), wearable.address, 60, now - 59, now],
    ]);

    const commits = indexer.stateCommitsOf(twinId);
    expect(commits.map((c) => [c.version, c.custodian, c.stateRoot, c.sourcesRoot])).to.deep.equal([
      [1n, hospital.address, ethers.id("state-1"), ethers.id("sources-1")],
      [UINT64_MAX, hospital.address, ethers.id("state-2"), ethers.id("sources-2")],
    ]);
    expect(commits[1].position.blockNumber).to.equal(Number((await updateLog.twinStateOf(twinId)).blockNumber));
    await indexer.close();
  });
});
