import { time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { indexedFixture, indexerFor } from "./harness";

const DAY = 24 * 60 * 60;
const READ = Action.READ;
const LABS = DataCategory.LABS;
const VITALS = DataCategory.VITALS;
const TREATMENT = Purpose.TREATMENT;
const RESEARCH = Purpose.RESEARCH;

describe("indexer: ConsentPolicy events", () => {
  it("keeps the current grant per grantee with its status, and the whole history", async () => {
    const f = await indexedFixture();
    const { consent, patient, clinician, researcher, twinId } = f;
    const indexer = indexerFor(f);
    const now = await time.latest();

    await consent.connect(patient).grant(twinId, clinician.address, LABS, READ, TREATMENT, now, now + 30 * DAY);
    await consent
      .connect(patient)
      .grant(twinId, researcher.address, LABS | VITALS, Action.AGGREGATE, RESEARCH, now + 10 * DAY, now + 20 * DAY);
    await consent
      .connect(patient)
      .updateGrant(twinId, clinician.address, LABS | VITALS, READ, TREATMENT, now, now + 60 * DAY);
    await indexer.syncOnce();

    let consents = indexer.consentsOf(twinId, { at: now + DAY });
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
    expect(indexer.consentsOf(twinId, { at: now + 15 * DAY })[1].status).to.equal("active");
    expect(indexer.consentsOf(twinId, { at: now + 20 * DAY })[1].status).to.equal("expired");

    await consent.connect(patient).revoke(twinId, clinician.address);
    await indexer.syncOnce();
    consents = indexer.consentsOf(twinId, { at: now + DAY });
    expect(consents[0].status).to.equal("revoked");
    expect(consents[0].revoked?.by).to.equal(patient.address);

    // Granting again replaces the grant and clears the revocation.
    await consent.connect(patient).grant(twinId, clinician.address, VITALS, READ, TREATMENT, now, now + 5 * DAY);
    await indexer.syncOnce();
    consents = indexer.consentsOf(twinId, { at: now + DAY });
    expect(consents.find((c) => c.grantee === clinician.address)).to.include({
      status: "active",
      categories: VITALS,
      validUntil: now + 5 * DAY,
    });
    expect(consents.find((c) => c.grantee === clinician.address)?.revoked).to.equal(null);
    expect(consents.find((c) => c.grantee === clinician.address)?.updated).to.equal(null);

    const history = indexer.grantHistory(twinId, clinician.address);
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
    expect(indexer.grantHistory(twinId)).to.have.length(5);
    expect(indexer.grantHistory(twinId, researcher.address.toLowerCase())).to.have.length(1);
    expect(indexer.grantsTo(researcher.address, { at: now }).map((c) => c.twinId)).to.deep.equal([
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
    const { consent, patient, clinician, researcher, twinId } = f;
    const indexer = indexerFor(f);
    const reason = ethers.id("reason text stays off chain");

    await consent.connect(clinician).requestConsent(twinId, LABS, TREATMENT, 7 * DAY, reason); // 1
    await consent.connect(researcher).requestConsent(twinId, LABS, RESEARCH, 30 * DAY, reason); // 2
    await consent.connect(researcher).requestConsent(twinId, VITALS, RESEARCH, 30 * DAY, reason); // 3
    await consent.connect(clinician).requestConsent(twinId, VITALS, TREATMENT, DAY, reason); // 4
    await indexer.syncOnce();
    expect(indexer.requestsOf(twinId, "pending").map((r) => r.requestId)).to.deep.equal([1n, 2n, 3n, 4n]);

    await consent.connect(patient).grantRequest(1, READ, 0);
    await consent.connect(patient).denyRequest(2);
    await consent.connect(researcher).withdrawRequest(3);
    await indexer.syncOnce();

    expect(indexer.requestsOf(twinId).map((r) => [r.requestId, r.status])).to.deep.equal([
      [1n, "granted"],
      [2n, "denied"],
      [3n, "withdrawn"],
      [4n, "pending"],
    ]);
    expect(indexer.requestsOf(twinId, "pending").map((r) => r.requestId)).to.deep.equal([4n]);
    expect(indexer.requestsOf(twinId, "closed").map((r) => r.requestId)).to.deep.equal([1n, 2n, 3n]);
    expect(indexer.requestsOf(twinId, "granted").map((r) => r.requestId)).to.deep.equal([1n]);
    expect(indexer.requestsBy(researcher.address).map((r) => r.requestId)).to.deep.equal([2n, 3n]);

    const first = indexer.request(1n);
    expect(first).to.include({
      requester: clinician.address,
      categories: LABS,
      purposes: TREATMENT,
      duration: 7 * DAY,
      reasonHash: reason,
      status: "granted",
    });
    expect(first?.closed?.by).to.equal(patient.address);
    expect(indexer.request(3)?.closed?.by).to.equal(researcher.address);
    expect(indexer.request(99)).to.equal(null);

    // Granting a request made a grant of what it asked for.
    const grant = indexer.consentsOf(twinId).find((c) => c.grantee === clinician.address);
    expect(grant).to.include({ categories: LABS, purposes: TREATMENT, actions: READ, status: "active" });
    expect(grant && grant.validUntil - grant.validFrom).to.equal(7 * DAY);
    await indexer.close();
  });

  it("records emergency policies and accesses: open, replaced, closed, expired", async () => {
    const f = await indexedFixture();
    const { consent, registry, governance, patient, responder, stranger, twinId } = f;
    const indexer = indexerFor(f);
    await registry.connect(governance).grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), stranger.address);
    const reason = ethers.id("unconscious patient, ER");

    await consent.connect(patient).setEmergencyPolicy(twinId, true, 3600, LABS | VITALS);
    await consent.connect(responder).openEmergencyAccess(twinId, 600, reason);
    await consent.connect(responder).openEmergencyAccess(twinId, 1200, reason); // replaces the first
    await consent.connect(stranger).openEmergencyAccess(twinId, 60, reason);
    await indexer.syncOnce();

    expect(indexer.twin(twinId)?.emergencyPolicy).to.deep.include({
      allowed: true,
      maxDuration: 3600,
      categories: LABS | VITALS,
    });
    let accesses = indexer.emergencyAccessesOf(twinId);
    expect(accesses.map((a) => [a.responder, a.status])).to.deep.equal([
      [responder.address, "replaced"],
      [responder.address, "open"],
      [stranger.address, "open"],
    ]);
    expect(accesses[1].until).to.equal(Number(await consent.emergencyAccessUntil(twinId, responder.address)));
    expect(accesses[1]).to.include({ categories: LABS | VITALS, reasonHash: reason });
    expect(accesses[0].ended?.by).to.equal(null);

    await consent.connect(patient).closeEmergencyAccess(twinId, responder.address);
    await time.increase(120);
    await indexer.syncOnce();
    accesses = indexer.emergencyAccessesOf(twinId);
    expect(accesses.map((a) => a.status)).to.deep.equal(["replaced", "closed", "expired"]);
    expect(accesses[1].ended?.by).to.equal(patient.address);
    expect(indexer.emergencyAccessesBy(stranger.address)).to.have.length(1);
    // Asked as of before the stranger's access ended, it was open.
    expect(indexer.emergencyAccessesOf(twinId, { at: accesses[2].until - 1 })[2].status).to.equal("open");

    await consent.connect(patient).setEmergencyPolicy(twinId, false, 0, 0);
    await indexer.syncOnce();
    expect(indexer.twin(twinId)?.emergencyPolicy?.allowed).to.equal(false);
    await indexer.close();
  });
});
