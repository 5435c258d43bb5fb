import { expect } from "chai";
import { ethers } from "hardhat";
import { ZeroAddress } from "ethers";
import { SourceKind, TwinStatus } from "../../../src/vocabulary";
import { EMR_CATEGORIES, METADATA, WEARABLE_CATEGORIES } from "../../fixtures";
import { chainLogCount, expectCode, indexedFixture, indexerFor, describeEachBackend } from "./harness";

describeEachBackend("indexer: TwinRegistry events", () => {
  it("indexes the fixture's twin, sources and custodian accreditations", async () => {
    const f = await indexedFixture();
    const indexer = await indexerFor(f);
    const result = await indexer.syncOnce();

    expect(result.events).to.equal(await chainLogCount(f));
    expect(result.checkpoint.blockNumber).to.equal(await ethers.provider.getBlockNumber());
    expect(result.checkpoint.blockHash).to.equal((await ethers.provider.getBlock(result.checkpoint.blockNumber))?.hash);

    const twin = await indexer.twin(f.twinId);
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

    expect((await indexer.twinsOf(f.patient.address)).map((t) => t.twinId)).to.deep.equal([f.twinId]);
    expect(await indexer.twinsOf(f.patient.address.toLowerCase())).to.have.length(1);
    expect(await indexer.twinsOf(f.stranger.address)).to.deep.equal([]);
    expect(await indexer.twinsInCustody(f.hospital.address)).to.have.length(1);
    expect((await indexer.twinsOfSource(f.emr.address)).map((s) => s.twinId)).to.deep.equal([f.twinId]);

    expect((await indexer.roleMembers("CUSTODIAN_ROLE")).map((m) => m.account)).to.deep.equal([
      f.hospital.address,
      f.hospital2.address,
    ]);
    expect((await indexer.roleMembers("EMERGENCY_RESPONDER_ROLE")).map((m) => m.account)).to.deep.equal([
      f.responder.address,
    ]);
    expect((await indexer.roleMembers("GOVERNANCE_ROLE")).map((m) => m.account)).to.deep.equal([f.governance.address]);
    expect((await indexer.roleMembers("DEFAULT_ADMIN_ROLE")).map((m) => m.account)).to.deep.equal([f.admin.address]);
    expect((await indexer.ownershipHistory(f.twinId)).map((h) => [h.kind, h.next])).to.deep.equal([
      ["created", f.patient.address],
    ]);
    await indexer.close();
  });

  it("follows sources, delegates, metadata, custodian and status changes", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, emr, wearable, hospital, hospital2, twinId } = f;
    const indexer = await indexerFor(f);
    await indexer.syncOnce();

    await registry.connect(patient).removeSource(twinId, wearable.address);
    await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Lab, 1 << 6);
    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(guardian).updateMetadata(twinId, ethers.id("metadata-commitment:v2"));
    await registry.connect(guardian).changeCustodian(twinId, hospital2.address);
    await registry.connect(guardian).suspendTwin(twinId);
    await indexer.syncOnce();

    let twin = await indexer.twin(twinId);
    expect(twin?.status).to.equal(TwinStatus.Suspended);
    expect(twin?.custodian).to.equal(hospital2.address);
    expect(twin?.metadataCommitment).to.equal(ethers.id("metadata-commitment:v2"));
    expect(twin?.sources.map((s) => [s.source, s.kind, s.categories])).to.deep.equal([
      [emr.address, SourceKind.Lab, 1 << 6],
    ]);
    const all = await indexer.sourcesOf(twinId, { includeRemoved: true });
    const removed = all.find((s) => s.source === wearable.address);
    expect(removed?.active).to.equal(false);
    expect(removed?.removed?.blockNumber).to.be.a("number");
    expect(await indexer.twinsOfSource(wearable.address)).to.deep.equal([]);
    expect(twin?.delegates.map((d) => d.delegate)).to.deep.equal([guardian.address]);
    expect((await indexer.twinsDelegatedTo(guardian.address)).map((d) => d.twinId)).to.deep.equal([twinId]);
    expect(await indexer.twinsInCustody(hospital.address)).to.deep.equal([]);

    await registry.connect(patient).resumeTwin(twinId);
    await registry.connect(guardian).removeDelegate(twinId, guardian.address); // resigns
    await registry.connect(patient).authorizeSource(twinId, wearable.address, SourceKind.Device, WEARABLE_CATEGORIES);
    await indexer.syncOnce();

    twin = await indexer.twin(twinId);
    expect(twin?.status).to.equal(TwinStatus.Active);
    expect(twin?.delegates).to.deep.equal([]);
    expect(await indexer.twinsDelegatedTo(guardian.address)).to.deep.equal([]);
    expect(twin?.sources.map((s) => s.source)).to.have.members([emr.address, wearable.address]);
    expect(twin?.sources.every((s) => s.removed === null)).to.equal(true);

    expect((await indexer.historyOf(twinId)).map((h) => h.kind)).to.deep.equal([
      "created",
      "metadata-updated",
      "custodian-changed",
      "suspended",
      "resumed",
    ]);
    const custodianChange = (await indexer.historyOf(twinId))[2];
    expect([custodianChange.previous, custodianChange.next]).to.deep.equal([hospital.address, hospital2.address]);
    const suspended = (await indexer.historyOf(twinId))[3];
    expect(suspended.actor).to.equal(guardian.address);
    await indexer.close();
  });

  it("keeps the ownership history: start, cancel, transfer to a delegate, erase", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, stranger, twinId } = f;
    const indexer = await indexerFor(f);

    await registry.connect(patient).transferOwnership(twinId, stranger.address);
    await registry.connect(patient).transferOwnership(twinId, ZeroAddress);
    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(patient).transferOwnership(twinId, guardian.address);
    await indexer.syncOnce();
    expect((await indexer.twin(twinId))?.pendingOwner).to.equal(guardian.address);

    await registry.connect(guardian).acceptOwnership(twinId);
    await indexer.syncOnce();
    let twin = await indexer.twin(twinId);
    expect(twin?.owner).to.equal(guardian.address);
    expect(twin?.pendingOwner).to.equal(null);
    // v2: the ownership change ended every delegate (DelegatesCleared), the new owner among them.
    expect(twin?.delegates).to.deep.equal([]);
    expect(await indexer.twinsOf(patient.address)).to.deep.equal([]);
    expect((await indexer.twinsOf(guardian.address)).map((t) => t.twinId)).to.deep.equal([twinId]);

    expect((await indexer.ownershipHistory(twinId)).map((h) => [h.kind, h.previous, h.next])).to.deep.equal([
      ["created", null, patient.address],
      ["ownership-transfer-started", patient.address, stranger.address],
      ["ownership-transfer-cancelled", patient.address, null],
      ["ownership-transfer-started", patient.address, guardian.address],
      ["ownership-transferred", patient.address, guardian.address],
    ]);

    await registry.connect(guardian).transferOwnership(twinId, stranger.address);
    await registry.connect(guardian).eraseTwin(twinId);
    await indexer.syncOnce();
    twin = await indexer.twin(twinId);
    expect(twin?.status).to.equal(TwinStatus.Erased);
    expect(twin?.pendingOwner).to.equal(null);
    expect((await indexer.historyOf(twinId)).at(-1)?.kind).to.equal("erased");

    // The audit timeline holds every log of the twin, in chain order.
    const events = await indexer.eventsOf(twinId);
    expect(events.map((e) => e.name)).to.include.members([
      "TwinCreated",
      "SourceAuthorized",
      "OwnershipTransferStarted",
      "DelegatesCleared",
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
    const indexer = await indexerFor(f);
    await indexer.syncOnce();
    expect(await indexer.twin(ethers.id("unknown"))).to.equal(null);
    expect(await indexer.consentsOf(ethers.id("unknown"))).to.deep.equal([]);
    // Upper-case hex is the same twin.
    expect((await indexer.twin(f.twinId.toUpperCase().replace("0X", "0x")))?.twinId).to.equal(f.twinId.toLowerCase());

    const secretish = "0x1234-not-a-twin";
    const error = await expectCode(async () => await indexer.twin(secretish), "INDEXER_INVALID_ARGUMENT");
    expect(error.message).to.not.contain(secretish);
    await expectCode(async () => await indexer.twinsOf("not an address"), "INDEXER_INVALID_ARGUMENT");
    await expectCode(async () => await indexer.updatesOf(f.twinId, { limit: 0 }), "INDEXER_INVALID_ARGUMENT");
    await expectCode(async () => await indexer.updatesOf(f.twinId, { fromSequence: -1 }), "INDEXER_INVALID_ARGUMENT");
    await indexer.close();
  });

  it("DelegatesCleared: an ownership change ends every delegate, and the indexer stops listing them", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, clinician, stranger, twinId } = f;
    const indexer = await indexerFor(f);

    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(patient).appointDelegate(twinId, clinician.address);
    await registry.connect(patient).transferOwnership(twinId, stranger.address);
    await indexer.syncOnce();
    expect((await indexer.delegatesOf(twinId)).map((d) => d.delegate)).to.deep.equal([
      guardian.address,
      clinician.address,
    ]);

    await registry.connect(stranger).acceptOwnership(twinId);
    await indexer.syncOnce();
    expect(await registry.isDelegate(twinId, guardian.address)).to.equal(false);
    expect(await indexer.delegatesOf(twinId)).to.deep.equal([]);
    expect((await indexer.twin(twinId))?.delegates).to.deep.equal([]);
    expect(await indexer.twinsDelegatedTo(guardian.address)).to.deep.equal([]);
    expect(await indexer.twinsDelegatedTo(clinician.address)).to.deep.equal([]);
    const cleared = await indexer.read((db) =>
      db.all("SELECT end_reason, removed_by FROM delegates ORDER BY delegate"),
    );
    expect(cleared).to.deep.equal([
      { end_reason: "cleared", removed_by: null },
      { end_reason: "cleared", removed_by: null },
    ]);
    expect((await indexer.historyOf(twinId)).map((h) => h.kind)).to.deep.equal([
      "created",
      "ownership-transfer-started",
      "delegates-cleared",
      "ownership-transferred",
    ]);

    // A delegate appointed again by the new owner is listed again, with a new appointment.
    await registry.connect(stranger).appointDelegate(twinId, guardian.address);
    await indexer.syncOnce();
    const [again] = await indexer.delegatesOf(twinId);
    expect(again).to.deep.include({ delegate: guardian.address, active: true, removed: null, endReason: null });
    await indexer.close();
  });

  it("a delegate removed or resigning reads as removed, with who did it", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, twinId } = f;
    const indexer = await indexerFor(f);
    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(patient).removeDelegate(twinId, guardian.address);
    await indexer.syncOnce();
    const row = await indexer.read((db) =>
      db.get("SELECT end_reason, removed_by FROM delegates WHERE delegate = ?", [guardian.address]),
    );
    expect(row).to.deep.equal({ end_reason: "removed", removed_by: patient.address });
    await indexer.close();
  });

  it("a source that becomes owner stops being a source (SourceRemoved in acceptOwnership)", async () => {
    const f = await indexedFixture();
    const { registry, patient, emr, twinId } = f;
    const indexer = await indexerFor(f);
    await registry.connect(patient).transferOwnership(twinId, emr.address);
    await registry.connect(emr).acceptOwnership(twinId);
    await indexer.syncOnce();

    const twin = await indexer.twin(twinId);
    expect(twin?.owner).to.equal(emr.address);
    expect(twin?.sources.map((s) => s.source)).to.deep.equal([f.wearable.address]);
    expect(await indexer.twinsOfSource(emr.address)).to.deep.equal([]);
    const removed = (await indexer.sourcesOf(twinId, { includeRemoved: true })).find((s) => s.source === emr.address);
    expect(removed?.active).to.equal(false);
    expect((await registry.sourceOf(twinId, emr.address)).categories).to.equal(0n);
    expect((await indexer.eventsOf(twinId)).slice(-3).map((e) => e.name)).to.deep.equal([
      "DelegatesCleared",
      "SourceRemoved",
      "OwnershipTransferred",
    ]);
    await indexer.close();
  });

  it("removing a delegate cancels the transfer it started or that names it (OwnershipTransferStarted to zero)", async () => {
    const f = await indexedFixture();
    const { registry, patient, guardian, clinician, stranger, twinId } = f;
    const indexer = await indexerFor(f);

    // The guardian starts a transfer (to a stranger), then is dismissed: the transfer is cancelled.
    await registry.connect(patient).appointDelegate(twinId, guardian.address);
    await registry.connect(guardian).transferOwnership(twinId, stranger.address);
    await indexer.syncOnce();
    expect((await indexer.twin(twinId))?.pendingOwner).to.equal(stranger.address);
    await registry.connect(patient).removeDelegate(twinId, guardian.address);
    await indexer.syncOnce();
    expect((await indexer.twin(twinId))?.pendingOwner).to.equal(null);
    expect(await registry.pendingOwnerOf(twinId)).to.equal(ZeroAddress);

    // A transfer naming a delegate is cancelled when that delegate resigns.
    await registry.connect(patient).appointDelegate(twinId, clinician.address);
    await registry.connect(patient).transferOwnership(twinId, clinician.address);
    await registry.connect(clinician).removeDelegate(twinId, clinician.address);
    await indexer.syncOnce();
    expect((await indexer.twin(twinId))?.pendingOwner).to.equal(null);

    expect((await indexer.ownershipHistory(twinId)).map((h) => [h.kind, h.previous, h.next])).to.deep.equal([
      ["created", null, patient.address],
      ["ownership-transfer-started", patient.address, stranger.address],
      ["ownership-transfer-cancelled", patient.address, null],
      ["ownership-transfer-started", patient.address, clinician.address],
      ["ownership-transfer-cancelled", patient.address, null],
    ]);
    expect((await indexer.twin(twinId))?.owner).to.equal(patient.address);
    await indexer.close();
  });

  it("follows the default admin's two-step transfer and delay changes (AccessControlDefaultAdminRules)", async () => {
    const f = await indexedFixture();
    const { registry, admin, governance, stranger } = f;
    const indexer = await indexerFor(f);
    await indexer.syncOnce();
    expect(await indexer.defaultAdmin()).to.deep.equal({
      admin: admin.address,
      pendingTransfer: null,
      delayChange: null,
    });

    await registry.connect(admin).beginDefaultAdminTransfer(stranger.address);
    await indexer.syncOnce();
    const [, scheduled] = await registry.pendingDefaultAdmin();
    expect((await indexer.defaultAdmin()).pendingTransfer).to.deep.equal({
      newAdmin: stranger.address,
      acceptSchedule: Number(scheduled),
    });

    await registry.connect(admin).cancelDefaultAdminTransfer();
    await indexer.syncOnce();
    expect((await indexer.defaultAdmin()).pendingTransfer).to.equal(null);

    await registry.connect(admin).beginDefaultAdminTransfer(governance.address);
    await registry.connect(governance).acceptDefaultAdminTransfer();
    await indexer.syncOnce();
    expect(await indexer.defaultAdmin()).to.deep.include({ admin: governance.address, pendingTransfer: null });
    expect((await indexer.roleMembers("DEFAULT_ADMIN_ROLE")).map((m) => m.account)).to.deep.equal([governance.address]);

    await registry.connect(governance).changeDefaultAdminDelay(3600);
    await indexer.syncOnce();
    const [newDelay, effectSchedule] = await registry.pendingDefaultAdminDelay();
    expect((await indexer.defaultAdmin()).delayChange).to.deep.equal({
      newDelay: Number(newDelay),
      effectSchedule: Number(effectSchedule),
    });
    await registry.connect(governance).rollbackDefaultAdminDelay();
    await indexer.syncOnce();
    expect((await indexer.defaultAdmin()).delayChange).to.equal(null);
    await indexer.close();
  });
});
