import { time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { EMERGENCY_COOLDOWN_SECONDS, REQUEST_LIFETIME_SECONDS } from "../../../src/indexer";
import { indexedFixture, indexerFor, describeEachBackend } from "./harness";

const DAY = 24 * 60 * 60;
const READ = Action.READ;
const LABS = DataCategory.LABS;
const VITALS = DataCategory.VITALS;
const TREATMENT = Purpose.TREATMENT;
const RESEARCH = Purpose.RESEARCH;

describeEachBackend("indexer: ConsentPolicy events", () => {
  it("keeps the current grant per grantee with its status, and the whole history", async () => {
    const f = await indexedFixture();
    const { consent, patient, clinician, researcher, twinId } = f;
    const indexer = await indexerFor(f);
    const now = await time.latest();

    await consent.connect(patient).grant(twinId, clinician.address, LABS, READ, TREATMENT, now, now + 30 * DAY);
    await consent
      .connect(patient)
      .grant(twinId, researcher.address, LABS | VITALS, Action.AGGREGATE, RESEARCH, now + 10 * DAY, now + 20 * DAY);
    await consent
      .connect(patient)
      .updateGrant(twinId, clinician.address, LABS | VITALS, READ, TREATMENT, now, now + 60 * DAY);
    await indexer.syncOnce();

    let consents = await indexer.consentsOf(twinId, { at: now + DAY });
    expect(consents.map((c) => [c.grantee, c.status])).to.deep.equal([
      [clinician.address, "active"],
      [researcher.address, "scheduled"],
    ]);
    const clinicianGrant = consents[0];
    expect(clinicianGrant).to.include({
      twinId: twinId.toLowerCase(),
      grantor: patient.address,
      categories: LABS | VITALS,
      actions: READ,
      purposes: TREATMENT,
      validFrom: now,
      validUntil: now + 60 * DAY,
    });
    expect(clinicianGrant.updated?.by).to.equal(patient.address);
    expect(clinicianGrant.revoked).to.equal(null);
    expect((await indexer.consentsOf(twinId, { at: now + 15 * DAY }))[1].status).to.equal("active");
    expect((await indexer.consentsOf(twinId, { at: now + 20 * DAY }))[1].status).to.equal("expired");

    await consent.connect(patient).revoke(twinId, clinician.address);
    await indexer.syncOnce();
    consents = await indexer.consentsOf(twinId, { at: now + DAY });
    expect(consents[0].status).to.equal("revoked");
    expect(consents[0].revoked?.by).to.equal(patient.address);

    // Granting again replaces the grant and clears the revocation.
    await consent.connect(patient).grant(twinId, clinician.address, VITALS, READ, TREATMENT, now, now + 5 * DAY);
    await indexer.syncOnce();
    consents = await indexer.consentsOf(twinId, { at: now + DAY });
    expect(consents.find((c) => c.grantee === clinician.address)).to.include({
      status: "active",
      categories: VITALS,
      validUntil: now + 5 * DAY,
    });
    expect(consents.find((c) => c.grantee === clinician.address)?.revoked).to.equal(null);
    expect(consents.find((c) => c.grantee === clinician.address)?.updated).to.equal(null);

    const history = await indexer.grantHistory(twinId, clinician.address);
    expect(history.map((h) => h.kind)).to.deep.equal(["granted", "updated", "revoked", "granted"]);
    expect(history[2].terms).to.equal(null);
    expect(history[2].actor).to.equal(patient.address);
    expect(history[1].terms).to.deep.equal({
      categories: LABS | VITALS,
      actions: READ,
      purposes: TREATMENT,
      validFrom: now,
      validUntil: now + 60 * DAY,
    });
    expect(await indexer.grantHistory(twinId)).to.have.length(5);
    expect(await indexer.grantHistory(twinId, researcher.address.toLowerCase())).to.have.length(1);
    expect((await indexer.grantsTo(researcher.address, { at: now })).map((c) => c.twinId)).to.deep.equal([
      twinId.toLowerCase(),
    ]);

    // The index agrees with the chain's own view.
    const onChain = await consent.grantOf(twinId, clinician.address);
    expect(onChain.categories).to.equal(BigInt(VITALS));
    expect(onChain.validUntil).to.equal(BigInt(now + 5 * DAY));
    await indexer.close();
  });

  it("tracks consent requests: pending, granted, denied, withdrawn", async () => {
    const f = await indexedFixture();
    const { consent, patient, clinician, researcher, stranger, guardian, twinId } = f;
    const indexer = await indexerFor(f);
    const reason = ethers.id("reason text stays off chain");

    // v2: at most one open request per (twin, requester).
    await consent.connect(clinician).requestConsent(twinId, LABS, TREATMENT, 7 * DAY, reason); // 1
    await consent.connect(researcher).requestConsent(twinId, LABS, RESEARCH, 30 * DAY, reason); // 2
    await consent.connect(stranger).requestConsent(twinId, VITALS, RESEARCH, 30 * DAY, reason); // 3
    await consent.connect(guardian).requestConsent(twinId, VITALS, TREATMENT, DAY, reason); // 4
    await indexer.syncOnce();
    expect((await indexer.requestsOf(twinId, "pending")).map((r) => r.requestId)).to.deep.equal([1n, 2n, 3n, 4n]);

    await consent.connect(patient).grantRequest(1, READ, 0);
    await consent.connect(patient).denyRequest(2);
    await consent.connect(stranger).withdrawRequest(3);
    await indexer.syncOnce();

    expect((await indexer.requestsOf(twinId)).map((r) => [r.requestId, r.status])).to.deep.equal([
      [1n, "granted"],
      [2n, "denied"],
      [3n, "withdrawn"],
      [4n, "pending"],
    ]);
    expect((await indexer.requestsOf(twinId, "pending")).map((r) => r.requestId)).to.deep.equal([4n]);
    expect((await indexer.requestsOf(twinId, "closed")).map((r) => r.requestId)).to.deep.equal([1n, 2n, 3n]);
    expect((await indexer.requestsOf(twinId, "granted")).map((r) => r.requestId)).to.deep.equal([1n]);
    expect((await indexer.requestsBy(researcher.address)).map((r) => r.requestId)).to.deep.equal([2n]);

    const first = await indexer.request(1n);
    expect(first).to.include({
      requester: clinician.address,
      categories: LABS,
      purposes: TREATMENT,
      duration: 7 * DAY,
      reasonHash: reason,
      status: "granted",
    });
    expect(first?.closed?.by).to.equal(patient.address);
    expect((await indexer.request(3))?.closed?.by).to.equal(stranger.address);
    expect(await indexer.request(99)).to.equal(null);

    // Granting a request made a grant of what it asked for.
    const grant = (await indexer.consentsOf(twinId)).find((c) => c.grantee === clinician.address);
    expect(grant).to.include({ categories: LABS, purposes: TREATMENT, actions: READ, status: "active" });
    expect(grant && grant.validUntil - grant.validFrom).to.equal(7 * DAY);
    // grantRequest moved the pair's epoch, as any grant does.
    expect(grant?.epoch).to.equal(Number(await consent.grantEpochOf(twinId, clinician.address)));
    expect(grant?.epoch).to.equal(1);
    await indexer.close();
  });

  it("records emergency policies and accesses: open, replaced, closed, expired", async () => {
    const f = await indexedFixture();
    const { consent, registry, governance, patient, responder, stranger, twinId } = f;
    const indexer = await indexerFor(f);
    await registry.connect(governance).grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), stranger.address);
    const reason = ethers.id("unconscious patient, ER");

    await consent.connect(patient).setEmergencyPolicy(twinId, true, 3600, LABS | VITALS);
    await consent.connect(responder).openEmergencyAccess(twinId, 600, reason);
    await consent.connect(responder).openEmergencyAccess(twinId, 1200, reason); // replaces the first
    await consent.connect(stranger).openEmergencyAccess(twinId, 60, reason);
    await indexer.syncOnce();

    expect((await indexer.twin(twinId))?.emergencyPolicy).to.deep.include({
      allowed: true,
      maxDuration: 3600,
      categories: LABS | VITALS,
    });
    let accesses = await indexer.emergencyAccessesOf(twinId);
    expect(accesses.map((a) => [a.responder, a.status])).to.deep.equal([
      [responder.address, "replaced"],
      [responder.address, "open"],
      [stranger.address, "open"],
    ]);
    expect(accesses[1].until).to.equal(Number(await consent.emergencyAccessUntil(twinId, responder.address)));
    // The re-opening keeps the first opening (EmergencyAccess.openedAt).
    expect(accesses[1].firstOpenedAt).to.equal(accesses[0].opened.timestamp);
    expect(accesses[1].firstOpenedAt).to.equal(
      Number((await consent.emergencyAccessOf(twinId, responder.address)).openedAt),
    );
    expect(accesses[1]).to.include({ categories: LABS | VITALS, reasonHash: reason });
    expect(accesses[0].ended?.by).to.equal(null);

    await consent.connect(patient).closeEmergencyAccess(twinId, responder.address);
    await time.increase(120);
    await indexer.syncOnce();
    accesses = await indexer.emergencyAccessesOf(twinId);
    expect(accesses.map((a) => a.status)).to.deep.equal(["replaced", "closed", "expired"]);
    expect(accesses[1].ended?.by).to.equal(patient.address);
    // The patient's close started the responder's cooldown; the access the stranger let expire has none.
    expect(accesses[1].cooldownUntil).to.equal(
      Number((await consent.emergencyAccessOf(twinId, responder.address)).cooldownUntil),
    );
    expect(accesses[2].cooldownUntil).to.equal(null);
    expect(await indexer.emergencyAccessesBy(stranger.address)).to.have.length(1);
    // Asked as of before the stranger's access ended, it was open.
    expect((await indexer.emergencyAccessesOf(twinId, { at: accesses[2].until - 1 }))[2].status).to.equal("open");

    await consent.connect(patient).setEmergencyPolicy(twinId, false, 0, 0);
    await indexer.syncOnce();
    expect((await indexer.twin(twinId))?.emergencyPolicy?.allowed).to.equal(false);
    await indexer.close();
  });

  it("holds the v2 constants the events do not carry equal to the contract's", async () => {
    const f = await indexedFixture();
    expect(BigInt(REQUEST_LIFETIME_SECONDS)).to.equal(await f.consent.REQUEST_LIFETIME());
    expect(BigInt(EMERGENCY_COOLDOWN_SECONDS)).to.equal(await f.consent.EMERGENCY_COOLDOWN());
  });

  it("regression: a revoke with no live grant invents no grant; it bumps the epoch (history 'voided')", async () => {
    const f = await indexedFixture();
    const { consent, patient, clinician, researcher, twinId } = f;
    const indexer = await indexerFor(f);
    const now = await time.latest();
    const epochOnChain = async (grantee: string) => Number(await consent.grantEpochOf(twinId, grantee));

    // No grant at all: v2 revokes anyway (voiding unrelayed signatures).
    await consent.connect(patient).revoke(twinId, clinician.address);
    await indexer.syncOnce();
    expect(await indexer.consentsOf(twinId)).to.deep.equal([]);
    expect(await indexer.grantsTo(clinician.address)).to.deep.equal([]);
    expect(
      (await indexer.grantHistory(twinId, clinician.address)).map((h) => [h.kind, h.actor, h.terms]),
    ).to.deep.equal([["voided", patient.address, null]]);
    expect(await indexer.grantEpochOf(twinId, clinician.address)).to.equal(await epochOnChain(clinician.address));
    expect(await indexer.grantEpochOf(twinId, clinician.address)).to.equal(1);

    // A grant, its revocation, and a second revoke: the first revocation stands.
    await consent.connect(patient).grant(twinId, clinician.address, LABS, READ, TREATMENT, now, now + 30 * DAY);
    await consent.connect(patient).revoke(twinId, clinician.address);
    await indexer.syncOnce();
    const firstRevocation = (await indexer.consentsOf(twinId))[0].revoked;
    await consent.connect(patient).revoke(twinId, clinician.address);
    await indexer.syncOnce();
    const [grant] = await indexer.consentsOf(twinId, { at: now + DAY });
    expect(grant.status).to.equal("revoked");
    expect(grant.revoked).to.deep.equal(firstRevocation);
    expect(grant.epoch).to.equal(4);
    expect(grant.epoch).to.equal(await epochOnChain(clinician.address));
    expect((await indexer.grantHistory(twinId, clinician.address)).map((h) => h.kind)).to.deep.equal([
      "voided",
      "granted",
      "revoked",
      "voided",
    ]);

    // An expired grant is still live for revoke: it gets revoked, not voided.
    await consent.connect(patient).grant(twinId, researcher.address, LABS, READ, RESEARCH, now, now + 2 * DAY);
    await consent.connect(patient).updateGrant(twinId, researcher.address, VITALS, READ, RESEARCH, now, now + 3 * DAY);
    await time.increase(4 * DAY);
    await consent.connect(patient).revoke(twinId, researcher.address);
    await indexer.syncOnce();
    expect((await indexer.grantHistory(twinId, researcher.address)).map((h) => h.kind)).to.deep.equal([
      "granted",
      "updated",
      "revoked",
    ]);
    expect(await indexer.grantEpochOf(twinId, researcher.address)).to.equal(await epochOnChain(researcher.address));
    expect(await indexer.grantEpochOf(twinId, f.stranger.address)).to.equal(0);
    await indexer.close();
  });

  it("indexes NonceCancelled per signer (uint256 nonces, in numeric order)", async () => {
    const f = await indexedFixture();
    const { consent, patient, guardian } = f;
    const indexer = await indexerFor(f);
    const big = (1n << 255n) + 3n;
    await consent.connect(patient).cancelNonce(big);
    await consent.connect(patient).cancelNonce(7);
    await consent.connect(guardian).cancelNonce(7);
    await indexer.syncOnce();

    expect((await indexer.cancelledNoncesOf(patient.address)).map((n) => [n.signer, n.nonce])).to.deep.equal([
      [patient.address, 7n],
      [patient.address, big],
    ]);
    expect(await indexer.isNonceCancelled(patient.address, big)).to.equal(
      await consent.nonceUsed(patient.address, big),
    );
    expect(await indexer.isNonceCancelled(patient.address, 8)).to.equal(false);
    expect(await indexer.cancelledNoncesOf(guardian.address)).to.have.length(1);
    const events = await consent.queryFilter(consent.filters.NonceCancelled(patient.address));
    expect(
      (await indexer.cancelledNoncesOf(patient.address)).map((n) => n.position.transactionHash).sort(),
    ).to.deep.equal(events.map((e) => e.transactionHash).sort());
    await indexer.close();
  });

  it("indexes AccountBlocked; a block closes the responder's access (status 'blocked', no cooldown)", async () => {
    const f = await indexedFixture();
    const { consent, patient, responder, clinician, twinId } = f;
    const indexer = await indexerFor(f);
    await consent.connect(patient).setEmergencyPolicy(twinId, true, 3600, LABS);
    await consent.connect(responder).openEmergencyAccess(twinId, 600, ethers.id("ER"));
    await consent.connect(patient).setBlocked(twinId, responder.address, true);
    await consent.connect(patient).setBlocked(twinId, clinician.address, true);
    await indexer.syncOnce();

    expect((await indexer.blockedAccountsOf(twinId)).map((b) => b.account)).to.deep.equal([
      responder.address,
      clinician.address,
    ]);
    expect(await indexer.isBlocked(twinId, responder.address)).to.equal(
      await consent.isBlocked(twinId, responder.address),
    );
    expect(await indexer.isBlocked(twinId, responder.address)).to.equal(true);
    const [access] = await indexer.emergencyAccessesOf(twinId);
    expect(access.status).to.equal("blocked");
    expect(access.ended?.by).to.equal(patient.address);
    expect(access.cooldownUntil).to.equal(null);
    expect((await consent.emergencyAccessOf(twinId, responder.address)).cooldownUntil).to.equal(0n);

    await consent.connect(patient).setBlocked(twinId, responder.address, false);
    await indexer.syncOnce();
    expect((await indexer.blockedAccountsOf(twinId)).map((b) => b.account)).to.deep.equal([clinician.address]);
    expect(await indexer.isBlocked(twinId, responder.address)).to.equal(false);
    expect((await indexer.eventsOf(twinId)).filter((e) => e.name === "AccountBlocked")).to.have.length(3);
    await indexer.close();
  });

  it("computes request expiry (block time + REQUEST_LIFETIME): pending, then expired, then closable", async () => {
    const f = await indexedFixture();
    const { consent, patient, clinician, twinId } = f;
    const indexer = await indexerFor(f);
    await consent.connect(clinician).requestConsent(twinId, LABS, TREATMENT, DAY, ethers.id("r"));
    await indexer.syncOnce();

    const first = await indexer.request(1);
    expect(first?.expiresAt).to.equal(Number((await consent.requestOf(1)).expiresAt));
    expect(first?.expiresAt).to.equal((first?.requested.timestamp ?? 0) + REQUEST_LIFETIME_SECONDS);
    const expiresAt = first?.expiresAt ?? 0;
    expect((await indexer.request(1, { at: expiresAt - 1 }))?.status).to.equal("pending");
    expect((await indexer.request(1, { at: expiresAt }))?.status).to.equal("expired");
    expect((await indexer.requestsOf(twinId, "pending", { at: expiresAt - 1 })).map((r) => r.requestId)).to.deep.equal([
      1n,
    ]);
    expect(await indexer.requestsOf(twinId, "pending", { at: expiresAt })).to.deep.equal([]);
    expect((await indexer.requestsOf(twinId, "expired", { at: expiresAt })).map((r) => r.requestId)).to.deep.equal([
      1n,
    ]);

    // Past its expiry the requester may ask again; the expired request can still be denied.
    await time.increaseTo(expiresAt);
    await consent.connect(clinician).requestConsent(twinId, LABS, TREATMENT, DAY, ethers.id("r2"));
    await consent.connect(patient).denyRequest(1);
    await indexer.syncOnce();
    const now = await time.latest();
    expect(
      (await indexer.requestsOf(twinId, undefined, { at: now })).map((r) => [r.requestId, r.status]),
    ).to.deep.equal([
      [1n, "denied"],
      [2n, "pending"],
    ]);
    expect((await indexer.requestsBy(clinician.address, { at: now + REQUEST_LIFETIME_SECONDS }))[1].status).to.equal(
      "expired",
    );
    await indexer.close();
  });

  it("emergency access: a re-opening is capped from the first opening; a controller's close starts a cooldown", async () => {
    const f = await indexedFixture();
    const { consent, registry, governance, patient, responder, stranger, twinId } = f;
    const indexer = await indexerFor(f);
    await registry.connect(governance).grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), stranger.address);
    await consent.connect(patient).setEmergencyPolicy(twinId, true, 3600, LABS);
    await consent.connect(responder).openEmergencyAccess(twinId, 3000, ethers.id("ER"));
    await time.increase(1000);
    await consent.connect(responder).openEmergencyAccess(twinId, 3000, ethers.id("ER, still"));
    await consent.connect(stranger).openEmergencyAccess(twinId, 600, ethers.id("ER"));
    await consent.connect(stranger).closeEmergencyAccess(twinId, stranger.address);
    await indexer.syncOnce();

    const [first, capped, own] = await indexer.emergencyAccessesOf(twinId);
    const onChain = await consent.emergencyAccessOf(twinId, responder.address);
    expect(capped.firstOpenedAt).to.equal(first.opened.timestamp);
    expect(capped.firstOpenedAt).to.equal(Number(onChain.openedAt));
    expect(capped.until).to.equal(first.opened.timestamp + 3600); // capped, not now + 3000
    expect(capped.until).to.equal(Number(onChain.until));
    expect(first.status).to.equal("replaced");
    // A responder closing their own access starts no cooldown.
    expect(own).to.deep.include({ status: "closed", cooldownUntil: null });

    await consent.connect(patient).closeEmergencyAccess(twinId, responder.address);
    await indexer.syncOnce();
    const closed = (await indexer.emergencyAccessesOf(twinId))[1];
    const cooldown = (await consent.emergencyAccessOf(twinId, responder.address)).cooldownUntil;
    expect(closed.status).to.equal("closed");
    expect(closed.cooldownUntil).to.equal(Number(cooldown));
    expect(closed.cooldownUntil).to.equal((closed.ended?.timestamp ?? 0) + EMERGENCY_COOLDOWN_SECONDS);
    await indexer.close();
  });
});
