import { expect } from "chai";
import { ethers } from "hardhat";
import { ZeroAddress } from "ethers";
import { SourceKind, TwinStatus } from "../../../src/vocabulary";
import { EMR_CATEGORIES, METADATA, WEARABLE_CATEGORIES } from "../../fixtures";
import { chainLogCount, expectCode, indexedFixture, indexerFor } from "./harness";

describe("indexer: TwinRegistry events", () => {
  it("indexes the fixture's twin, sources and custodian accreditations", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f);
    const result = await indexer.syncOnce();

    expect(result.events).to.equal(await chainLogCount(f));
    expect(result.checkpoint.blockNumber).to.equal(await ethers.provider.getBlockNumber());
    expect(result.checkpoint.blockHash).to.equal((await ethers.provider.getBlock(result.checkpoint.blockNumber))?.hash);

    const twin = indexer.twin(f.twinId);
    expect(twin).to.not.equal(null);
    expect(twin?.twinId).to.equal(f.twinId.toLowerCase());
    expect(twin?.owner).to.equal(f.patient.address);
    expect(twin?.custodian).to.equal(f.hospital.address);
    expect(twin?.status).to.equal(TwinStatus.Active);
    expect(twin?.metadataCommitment).to.equal(METADATA);
    expect(twin?.pendingOwner).to.equal(null);
    expect(twin?.sources.map((s) => [s.source, s.kind, s.categories, s.active])).to.deep.equal([
      [f.emr.address, SourceKind.Emr, EMR_CATEGORIES, true],
      [f.wearable.address, SourceKind.Device, WEARABLE_CATEGORIES, true],
    ]);
    expect(twin?.delegates).to.deep.equal([]);
    expect(twin?.emergencyPolicy).to.equal(null);

    const created = (await f.registry.queryFilter(f.registry.filters.TwinCreated()))[0];
    expect(twin?.created.blockNumber).to.equal(created.blockNumber);
    expect(twin?.created.logIndex).to.equal(created.index);
    expect(twin?.created.transactionHash).to.equal(created.transactionHash);
    expect(twin?.created.timestamp).to.equal((await created.getBlock()).timestamp);

    expect(indexer.twinsOf(f.patient.address).map((t) => t.twinId)).to.deep.equal([f.twinId]);
    expect(indexer.twinsOf(f.patient.address.toLowerCase())).to.have.length(1);
    expect(indexer.twinsOf(f.stranger.address)).to.deep.equal([]);
    expect(indexer.twinsInCustody(f.hospital.address)).to.have.length(1);
    expect(indexer.twinsOfSource(f.emr.address).map((s) => s.twinId)).to.deep.equal([f.twinId]);

    expect(indexer.roleMembers("CUSTODIAN_ROLE").map((m) => m.account)).to.deep.equal([
      f.hospital.address,
      f.hospital2.address,
    ]);
    expect(indexer.roleMembers("EMERGENCY_RESPONDER_ROLE").map((m) => m.account)).to.deep.equal([f.responder.address]);
    expect(indexer.roleMembers("GOVERNANCE_ROLE").map((m) => m.account)).to.deep.equal([f.governance.address]);
    expect(indexer.roleMembers("DEFAULT_ADMIN_ROLE").map((m) => m.account)).to.deep.equal([f.admin.address]);
    expect(indexer.ownershipHistory(f.twinId).map((h) => [h.kind, h.next])).to.deep.equal([
      ["created", f.patient.address],
    ]);
    await indexer.close();
  });

  it("follows sources, delegates, metadata, custodian and status changes", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, emr, wearable, hospital, hospital2, twinId } = f;
    const indexer = indexerFor(f);
    await indexer.syncOnce();

    await registry.connect(patient).removeSource(twinId, wearable.address);
    await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Lab, 1 << 6);
    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(guardian).updateMetadata(twinId, ethers.id("metadata-commitment:v2"));
    await registry.connect(guardian).changeCustodian(twinId, hospital2.address);
    await registry.connect(guardian).suspendTwin(twinId);
    await indexer.syncOnce();

    let twin = indexer.twin(twinId);
    expect(twin?.status).to.equal(TwinStatus.Suspended);
    expect(twin?.custodian).to.equal(hospital2.address);
    expect(twin?.metadataCommitment).to.equal(ethers.id("metadata-commitment:v2"));
    expect(twin?.sources.map((s) => [s.source, s.kind, s.categories])).to.deep.equal([
      [emr.address, SourceKind.Lab, 1 << 6],
    ]);
    const all = indexer.sourcesOf(twinId, { includeRemoved: true });
    const removed = all.find((s) => s.source === wearable.address);
    expect(removed?.active).to.equal(false);
    expect(removed?.removed?.blockNumber).to.be.a("number");
    expect(indexer.twinsOfSource(wearable.address)).to.deep.equal([]);
    expect(twin?.delegates.map((d) => d.delegate)).to.deep.equal([guardian.address]);
    expect(indexer.twinsDelegatedTo(guardian.address).map((d) => d.twinId)).to.deep.equal([twinId]);
    expect(indexer.twinsInCustody(hospital.address)).to.deep.equal([]);

    await registry.connect(patient).resumeTwin(twinId);
    await registry.connect(guardian).removeDelegate(twinId, guardian.address); // resigns
    await registry.connect(patient).authorizeSource(twinId, wearable.address, SourceKind.Device, WEARABLE_CATEGORIES);
    await indexer.syncOnce();

    twin = indexer.twin(twinId);
    expect(twin?.status).to.equal(TwinStatus.Active);
    expect(twin?.delegates).to.deep.equal([]);
    expect(indexer.twinsDelegatedTo(guardian.address)).to.deep.equal([]);
    expect(twin?.sources.map((s) => s.source)).to.have.members([emr.address, wearable.address]);
    expect(twin?.sources.every((s) => s.removed === null)).to.equal(true);

    expect(indexer.historyOf(twinId).map((h) => h.kind)).to.deep.equal([
      "created",
      "metadata-updated",
      "custodian-changed",
      "suspended",
      "resumed",
    ]);
    const custodianChange = indexer.historyOf(twinId)[2];
    expect([custodianChange.previous, custodianChange.next]).to.deep.equal([hospital.address, hospital2.address]);
    const suspended = indexer.historyOf(twinId)[3];
    expect(suspended.actor).to.equal(guardian.address);
    await indexer.close();
  });

  it("keeps the ownership history: start, cancel, transfer to a delegate, erase", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, stranger, twinId } = f;
    const indexer = indexerFor(f);

    await registry.connect(patient).transferOwnership(twinId, stranger.address);
    await registry.connect(patient).transferOwnership(twinId, ZeroAddress);
    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(patient).transferOwnership(twinId, guardian.address);
    await indexer.syncOnce();
    expect(indexer.twin(twinId)?.pendingOwner).to.equal(guardian.address);

    await registry.connect(guardian).acceptOwnership(twinId);
    await indexer.syncOnce();
    let twin = indexer.twin(twinId);
    expect(twin?.owner).to.equal(guardian.address);
    expect(twin?.pendingOwner).to.equal(null);
    // The new owner stopped being a delegate (DelegateRemoved before OwnershipTransferred).
    expect(twin?.delegates).to.deep.equal([]);
    expect(indexer.twinsOf(patient.address)).to.deep.equal([]);
    expect(indexer.twinsOf(guardian.address).map((t) => t.twinId)).to.deep.equal([twinId]);

    expect(indexer.ownershipHistory(twinId).map((h) => [h.kind, h.previous, h.next])).to.deep.equal([
      ["created", null, patient.address],
      ["ownership-transfer-started", patient.address, stranger.address],
      ["ownership-transfer-cancelled", patient.address, null],
      ["ownership-transfer-started", patient.address, guardian.address],
      ["ownership-transferred", patient.address, guardian.address],
    ]);

    await registry.connect(guardian).transferOwnership(twinId, stranger.address);
    await registry.connect(guardian).eraseTwin(twinId);
    await indexer.syncOnce();
    twin = indexer.twin(twinId);
    expect(twin?.status).to.equal(TwinStatus.Erased);
    expect(twin?.pendingOwner).to.equal(null);
    expect(indexer.historyOf(twinId).at(-1)?.kind).to.equal("erased");

    // The audit timeline holds every log of the twin, in chain order.
    const events = indexer.eventsOf(twinId);
    expect(events.map((e) => e.name)).to.include.members([
      "TwinCreated",
      "SourceAuthorized",
      "OwnershipTransferStarted",
      "DelegateRemoved",
      "OwnershipTransferred",
      "TwinErased",
    ]);
    const positions = events.map((e) => e.position.blockNumber * 1e6 + e.position.logIndex);
    expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
    expect(events.every((e) => e.contract === "registry" && e.address === f.addresses.registry)).to.equal(true);
    await indexer.close();
  });

  it("answers nothing for an unknown twin and refuses malformed arguments without echoing them", async () => {
    const f = await indexedFixture();
    const indexer = indexerFor(f);
    await indexer.syncOnce();
    expect(indexer.twin(ethers.id("unknown"))).to.equal(null);
    expect(indexer.consentsOf(ethers.id("unknown"))).to.deep.equal([]);
    // Upper-case hex is the same twin.
    expect(indexer.twin(f.twinId.toUpperCase().replace("0X", "0x"))?.twinId).to.equal(f.twinId.toLowerCase());

    const secretish = "0x1234-not-a-twin";
    const error = expectCode(() => indexer.twin(secretish), "INDEXER_INVALID_ARGUMENT");
    expect(error.message).to.not.contain(secretish);
    expectCode(() => indexer.twinsOf("not an address"), "INDEXER_INVALID_ARGUMENT");
    expectCode(() => indexer.updatesOf(f.twinId, { limit: 0 }), "INDEXER_INVALID_ARGUMENT");
    expectCode(() => indexer.updatesOf(f.twinId, { fromSequence: -1 }), "INDEXER_INVALID_ARGUMENT");
    await indexer.close();
  });
});
