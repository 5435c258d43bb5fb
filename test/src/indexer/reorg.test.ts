import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import type { SyncResult } from "../../../src/indexer";
import { Action, DataCategory, Purpose, SourceKind, TwinStatus } from "../../../src/vocabulary";
import {
  describeEachBackend,
  dumpOf,
  expectSameAsFromScratch,
  indexedFixture,
  indexerFor,
  type IndexedFixture,
} from "./harness";

const DAY = 24 * 60 * 60;

/** State that both forks then change: a grant, an emergency policy, a request, a delegate. */
async function commonHistory(f: IndexedFixture): Promise<void> {
  const { consent, registry, patient, clinician, researcher, guardian, twinId } = f;
  const now = await time.latest();
  await consent
    .connect(patient)
    .grant(twinId, clinician.address, DataCategory.LABS, Action.READ, Purpose.TREATMENT, now, now + 30 * DAY);
  await consent.connect(patient).setEmergencyPolicy(twinId, true, 3600, DataCategory.LABS);
  await consent.connect(researcher).requestConsent(twinId, DataCategory.LABS, Purpose.RESEARCH, 3600, ethers.id("why"));
  await registry.connect(patient).appointDelegate(twinId, guardian.address);
}

/** Fork A: changes to rows written before the fork on every contract, then blocks up to `blocks` in all. */
async function forkA(f: IndexedFixture, blocks: number): Promise<void> {
  const { consent, registry, updateLog, patient, clinician, guardian, responder, emr, wearable, hospital, twinId } = f;
  const start = await ethers.provider.getBlockNumber();
  await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("readings-a"));
  await consent.connect(patient).revoke(twinId, clinician.address);
  await registry.connect(patient).updateMetadata(twinId, ethers.id("metadata-a"));
  await consent.connect(patient).denyRequest(1);
  await consent.connect(responder).openEmergencyAccess(twinId, 600, ethers.id("emergency-a"));
  await registry.connect(patient).removeSource(twinId, wearable.address);
  await registry.connect(patient).removeDelegate(twinId, guardian.address);
  await registry.connect(patient).suspendTwin(twinId);
  await registry.connect(patient).resumeTwin(twinId);
  await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("blob-a"), ethers.id("cid-a"));
  await updateLog.connect(hospital).anchorAccessLog(ethers.id("log-a"), 0, 9);
  await registry.connect(patient).transferOwnership(twinId, f.stranger.address);
  await registry.connect(f.admin).beginDefaultAdminTransfer(f.governance.address);
  await registry.connect(f.governance).revokeRole(await registry.EMERGENCY_RESPONDER_ROLE(), responder.address);
  const used = (await ethers.provider.getBlockNumber()) - start;
  if (blocks > used) await mine(blocks - used);
}

/** Fork B: other changes to the same rows, and fewer blocks. */
async function forkB(f: IndexedFixture): Promise<void> {
  const { consent, registry, updateLog, patient, clinician, researcher, emr, twinId } = f;
  const now = await time.latest();
  await consent
    .connect(patient)
    .updateGrant(
      twinId,
      clinician.address,
      DataCategory.LABS | DataCategory.VITALS,
      Action.READ,
      Purpose.TREATMENT,
      now,
      now + 60 * DAY,
    );
  await consent.connect(patient).setBlocked(twinId, researcher.address, true);
  await registry.connect(patient).authorizeSource(twinId, f.stranger.address, SourceKind.App, DataCategory.LABS);
  await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("blob-b"), ethers.id("cid-b"));
  await consent.connect(patient).setEmergencyPolicy(twinId, false, 0, 0);
  await registry.connect(f.admin).changeDefaultAdminDelay(3600);
  await registry.connect(f.governance).grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), f.stranger.address);
}

/** Fork C: changes that need nothing of `commonHistory`. */
async function forkC(f: IndexedFixture, label: string): Promise<void> {
  const { registry, updateLog, patient, emr, twinId } = f;
  await registry.connect(patient).updateMetadata(twinId, ethers.id(`metadata-${label}`));
  await registry.connect(patient).authorizeSource(twinId, f.stranger.address, SourceKind.App, DataCategory.LABS);
  await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id(`blob-${label}`), ethers.id(label));
}

describeEachBackend("indexer: reorgs of any depth", () => {
  it("rolls a deep reorg (20 blocks replaced by other blocks at the same heights) back to the common ancestor", async () => {
    const f = await indexedFixture();
    await commonHistory(f);
    const indexer = await indexerFor(f);
    await indexer.syncOnce();
    const ancestor = await ethers.provider.getBlock("latest");
    const snapshot: string = await network.provider.send("evm_snapshot");

    await forkA(f, 20);
    await indexer.syncOnce();
    const replaced = await indexer.checkpoint();
    expect(replaced.blockNumber).to.equal((ancestor?.number ?? 0) + 20);
    expect((await indexer.twin(f.twinId))?.pendingOwner).to.equal(f.stranger.address);

    await network.provider.send("evm_revert", [snapshot]);
    await forkB(f);
    await mine(20 - 7 + 2); // longer than fork A: every height of A now holds another block
    expect((await ethers.provider.getBlock(replaced.blockNumber))?.hash).to.not.equal(replaced.blockHash);

    const result: SyncResult = await indexer.syncOnce();
    expect(result.reorg).to.deep.equal({
      replacedCheckpoint: replaced.blockNumber,
      ancestor: ancestor?.number,
      rebuilt: false,
    });
    expect(result.fromBlock).to.equal((ancestor?.number ?? 0) + 1);
    const twin = await indexer.twin(f.twinId);
    expect(twin?.pendingOwner).to.equal(null);
    expect(twin?.status).to.equal(TwinStatus.Active);
    expect((await indexer.consentsOf(f.twinId))[0]).to.include({ status: "active", revoked: null });
    expect(await indexer.isBlocked(f.twinId, f.researcher.address)).to.equal(true);
    expect((await indexer.updatesOf(f.twinId)).map((u) => u.kind === "update" && u.cid)).to.deep.equal([
      ethers.id("cid-b"),
    ]);
    await expectSameAsFromScratch(indexer, f);
    await indexer.close();
  });

  it("rolls a shallow reorg (the last block replaced) back, and goes on indexing", async () => {
    const f = await indexedFixture();
    await commonHistory(f);
    const indexer = await indexerFor(f);
    await indexer.syncOnce();
    const snapshot: string = await network.provider.send("evm_snapshot");
    await f.registry.connect(f.patient).suspendTwin(f.twinId);
    await indexer.syncOnce();
    const replaced = await indexer.checkpoint();

    await network.provider.send("evm_revert", [snapshot]);
    await f.consent.connect(f.patient).revoke(f.twinId, f.clinician.address);
    expect(await ethers.provider.getBlockNumber()).to.equal(replaced.blockNumber);

    const result = await indexer.syncOnce();
    expect(result.reorg).to.deep.equal({
      replacedCheckpoint: replaced.blockNumber,
      ancestor: replaced.blockNumber - 1,
      rebuilt: false,
    });
    expect((await indexer.twin(f.twinId))?.status).to.equal(TwinStatus.Active);
    expect((await indexer.consentsOf(f.twinId))[0].status).to.equal("revoked");
    await expectSameAsFromScratch(indexer, f);

    await forkC(f, "after");
    expect((await indexer.syncOnce()).reorg).to.equal(null);
    await expectSameAsFromScratch(indexer, f);
    await indexer.close();
  });

  it("rolls back to a chain shorter than the index (the head below the checkpoint)", async () => {
    const f = await indexedFixture();
    await commonHistory(f);
    const indexer = await indexerFor(f);
    await indexer.syncOnce();
    const snapshot: string = await network.provider.send("evm_snapshot");
    await forkA(f, 20);
    await indexer.syncOnce();

    await network.provider.send("evm_revert", [snapshot]);
    await f.registry.connect(f.patient).updateMetadata(f.twinId, ethers.id("metadata-b"));
    const result = await indexer.syncOnce();
    expect(result.reorg?.rebuilt).to.equal(false);
    expect(result.checkpoint.blockNumber).to.equal(await ethers.provider.getBlockNumber());
    expect((await indexer.twin(f.twinId))?.metadataCommitment).to.equal(ethers.id("metadata-b"));
    await expectSameAsFromScratch(indexer, f);
    await indexer.close();
  });

  it("rebuilds from the start block when the chain replaced every indexed block", async () => {
    const f = await indexedFixture();
    const snapshot: string = await network.provider.send("evm_snapshot");
    await commonHistory(f);
    const startBlock = (await ethers.provider.getBlockNumber()) - 1;
    const indexer = await indexerFor(f, { startBlock });
    await indexer.syncOnce();
    expect(await indexer.eventCount()).to.equal(2);

    await network.provider.send("evm_revert", [snapshot]);
    await forkC(f, "c");
    const result = await indexer.syncOnce();
    expect(result.reorg).to.deep.equal({ replacedCheckpoint: startBlock + 1, ancestor: startBlock - 1, rebuilt: true });
    expect(result.fromBlock).to.equal(startBlock);
    const scratch = await indexerFor(f, { startBlock });
    await scratch.syncOnce();
    expect(await dumpOf(indexer)).to.deep.equal(await dumpOf(scratch));
    await scratch.close();
    await indexer.close();
  });

  it("with a bounded journal, rolls back reorgs within the bound and rebuilds for deeper ones", async () => {
    const f = await indexedFixture();
    await commonHistory(f);
    const indexer = await indexerFor(f, { reorgJournalBlocks: 4, batchBlocks: 3 });
    await indexer.syncOnce();
    const deep: string = await network.provider.send("evm_snapshot");
    await forkA(f, 12);
    await indexer.syncOnce();
    const journal = await indexer.read((db) =>
      db.get<{ low: number | null }>("SELECT MIN(block_number) AS low FROM reorg_journal"),
    );
    expect(journal?.low ?? Infinity).to.be.greaterThan((await indexer.checkpoint()).blockNumber - 4);

    // Two blocks deep: within the bound.
    const shallow: string = await network.provider.send("evm_snapshot");
    await forkC(f, "x");
    await indexer.syncOnce();
    await network.provider.send("evm_revert", [shallow]);
    await mine(4);
    expect((await indexer.syncOnce()).reorg?.rebuilt).to.equal(false);
    await expectSameAsFromScratch(indexer, f);

    // Twelve blocks deep: beyond it.
    await network.provider.send("evm_revert", [deep]);
    await forkB(f);
    await mine(12);
    expect((await indexer.syncOnce()).reorg?.rebuilt).to.equal(true);
    await expectSameAsFromScratch(indexer, f);
    await indexer.close();
  });

  it("survives reorgs one after another (the journal is undone and rewritten each time)", async () => {
    const f = await indexedFixture();
    await commonHistory(f);
    const indexer = await indexerFor(f, { batchBlocks: 4 });
    await indexer.syncOnce();
    for (let round = 0; round < 3; round++) {
      const snapshot: string = await network.provider.send("evm_snapshot");
      await forkA(f, 8 + round);
      await indexer.syncOnce();
      await network.provider.send("evm_revert", [snapshot]);
      await f.registry.connect(f.patient).updateMetadata(f.twinId, ethers.id(`metadata-${round}`));
      await mine(12);
      expect((await indexer.syncOnce()).reorg).to.not.equal(null);
      await expectSameAsFromScratch(indexer, f);
    }
    await indexer.close();
  });
});
