import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { Signer, TypedDataDomain } from "ethers";
import { ethers } from "hardhat";
import {
  ConsentPolicy__factory,
  MockERC1271Wallet__factory,
  MockRegistryAnswers__factory,
} from "../../typechain-types";
import {
  AccessDecision as Decision,
  ALL_ACTIONS,
  ALL_CATEGORIES,
  ALL_PURPOSES,
  Action,
  DataCategory,
  Purpose,
} from "../../src/vocabulary";
import {
  GRANT_SIGNATURE_LIFETIME,
  GRANT_TYPES,
  randomGrantNonce,
  signGrant as signGrantWithLibrary,
} from "../../src/chain/typed-data";
import { METADATA, TWIN_ID, twinFixture } from "../fixtures";
import { twinIdOf } from "../../src/chain/twin-id";

/*
 * ConsentPolicy: every external function's success, reverts (custom error and arguments), events and state after;
 * every role boundary; time windows to the second; signatures (replay, expiry, wrong signer, other domain, ERC-1271);
 * suspended, erased and unknown twins. Reverts go through `expectRevert`, which also checks that no view changed.
 */

/** `IConsentPolicy.RequestStatus`. */
enum RequestStatus {
  None,
  Pending,
  Granted,
  Denied,
  Withdrawn,
}

const DAY = 24 * 60 * 60;
const UINT40_MAX = 2 ** 40 - 1;
const UNKNOWN_TWIN = ethers.id("twin:pseudonym:nobody");
/** The stranger (hardhat account 11) owns the second twin; ids are derived on chain from the owner and a salt. */
const OTHER_SALT = ethers.id("twin:pseudonym:bob");
const OTHER_TWIN = twinIdOf("0x71bE63f3384f5fb98995898A86B02Fb2426c5788", OTHER_SALT);
const WALLET_SALT = ethers.id("twin:pseudonym:wallet");
const REASON = ethers.id("reason: unconscious patient, ED admission");
const UNDEFINED_CATEGORY = 1 << 13;
const UNDEFINED_ACTION = 1 << 4;
const UNDEFINED_PURPOSE = 1 << 10;
const GRANT_TYPE =
  "Grant(bytes32 twinId,address grantee,uint32 categories,uint8 actions,uint16 purposes,uint40 validFrom," +
  "uint40 validUntil,address signer,uint32 epoch,uint256 nonce,uint256 deadline)";

/** The clinician's grant in `grantedFixture`. */
const CLINICIAN_CATEGORIES = DataCategory.LABS | DataCategory.VITALS;
const CLINICIAN_ACTIONS = Action.READ | Action.AGGREGATE;
const CLINICIAN_PURPOSES = Purpose.TREATMENT | Purpose.CARE_COORDINATION;
/** The patient's emergency policy in `emergencyFixture`. */
const EMERGENCY_CATEGORIES = DataCategory.ALLERGIES | DataCategory.MEDICATIONS | DataCategory.CONDITIONS;
const EMERGENCY_MAX = 4 * 60 * 60;
/** The researcher's request in `requestFixture`. */
const REQUEST_CATEGORIES = DataCategory.LABS | DataCategory.WEARABLE_STREAMS;
const REQUEST_PURPOSES = Purpose.RESEARCH;
const REQUEST_DURATION = 90 * DAY;
const REQUEST_LIFETIME = 30 * DAY;

// ------------------------------------------------------------------------------------------------------------
// Fixtures, on top of the shared ones
// ------------------------------------------------------------------------------------------------------------

/** `twinFixture` with the guardian appointed as the patient's delegate, and a second twin owned by a stranger. */
async function consentFixture() {
  const f = await twinFixture();
  await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.guardian.address);
  await f.registry.connect(f.stranger).createTwin(OTHER_SALT, METADATA, f.hospital.address);
  return { ...f, t0: await time.latest() };
}

type Fixture = Awaited<ReturnType<typeof consentFixture>>;

/** `consentFixture` plus the patient's grant to the clinician, valid from t0 + 1000 for 30 days. */
async function grantedFixture() {
  const f = await consentFixture();
  const validFrom = f.t0 + 1000;
  const validUntil = validFrom + 30 * DAY;
  await f.consent
    .connect(f.patient)
    .grant(
      TWIN_ID,
      f.clinician.address,
      CLINICIAN_CATEGORIES,
      CLINICIAN_ACTIONS,
      CLINICIAN_PURPOSES,
      validFrom,
      validUntil,
    );
  return { ...f, validFrom, validUntil };
}

/** `consentFixture` plus an emergency policy (allowed, 4 hours, three categories) and an access opened for 1 hour. */
async function emergencyFixture() {
  const f = await consentFixture();
  await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
  await f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 3600, REASON);
  const until = Number(await f.consent.emergencyAccessUntil(TWIN_ID, f.responder.address));
  return { ...f, until };
}

/** `consentFixture` plus the researcher's pending request (id 1). */
async function requestFixture() {
  const f = await consentFixture();
  await f.consent
    .connect(f.researcher)
    .requestConsent(TWIN_ID, REQUEST_CATEGORIES, REQUEST_PURPOSES, REQUEST_DURATION, REASON);
  return { ...f, requestId: 1n };
}

// ------------------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------------------

/** Every view of the policy that a transaction could change, as plain strings. */
async function stateOf(f: Fixture): Promise<string> {
  const { consent } = f;
  const people = [f.patient, f.guardian, f.clinician, f.researcher, f.responder, f.stranger, f.hospital];
  const parts: unknown[] = [];
  for (const twin of [TWIN_ID, OTHER_TWIN]) {
    for (const p of people) {
      parts.push(
        await consent.grantOf(twin, p.address),
        await consent.grantEpochOf(twin, p.address),
        await consent.emergencyAccessOf(twin, p.address),
        await consent.isBlocked(twin, p.address),
      );
    }
    parts.push(await consent.emergencyPolicyOf(twin));
  }
  for (const id of [0n, 1n, 2n, 3n]) parts.push(await consent.requestOf(id));
  for (const p of people) {
    for (const nonce of [0n, 1n, 2n, 5n]) parts.push(await consent.nonceUsed(p.address, nonce));
  }
  return JSON.stringify(parts, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Expects `send()` to revert with the contract's custom error `name(args)`, and every view to be unchanged. */
async function expectRevert(f: Fixture, send: () => Promise<unknown>, name: string, ...args: unknown[]) {
  const before = await stateOf(f);
  const assertion = expect(send()).to.be.revertedWithCustomError(f.consent, name);
  if (args.length > 0) await assertion.withArgs(...args);
  else await assertion;
  expect(await stateOf(f), "state after a revert").to.equal(before);
}

async function decision(
  f: Fixture,
  account: string,
  action: number,
  category: number,
  purpose: number,
  twinId = TWIN_ID,
): Promise<Decision> {
  const d = Number(await f.consent.checkAccess(twinId, account, action, category, purpose));
  // isAuthorized is checkAccess == Allowed, always.
  expect(await f.consent.isAuthorized(twinId, account, action, category, purpose)).to.equal(d === Decision.Allowed);
  return d;
}

/** The timestamp the next transaction will run at (set, so that time-sensitive expectations are exact). */
async function nextTimestamp(offset = 1): Promise<number> {
  const t = (await time.latest()) + offset;
  await time.setNextBlockTimestamp(t);
  return t;
}

interface Terms {
  twinId: string;
  grantee: string;
  categories: number;
  actions: number;
  purposes: number;
  validFrom: number;
  validUntil: number;
}

async function domainOf(f: Fixture, overrides: Partial<TypedDataDomain> = {}): Promise<TypedDataDomain> {
  const { chainId } = await ethers.provider.getNetwork();
  return {
    name: "TwinLedger ConsentPolicy",
    version: "1",
    chainId,
    verifyingContract: await f.consent.getAddress(),
    ...overrides,
  };
}

/** `key` signs the grant for `signer` (itself, unless a wallet it keys), with the given nonce, deadline and epoch. */
async function signGrant(
  key: Signer,
  domain: TypedDataDomain,
  terms: Terms,
  signer: string,
  nonce: bigint,
  deadline: number,
  epoch = 0,
): Promise<string> {
  return key.signTypedData(domain, GRANT_TYPES, { ...terms, signer, epoch, nonce, deadline });
}

function termsFor(f: Fixture, grantee: string, validFrom = f.t0, validUntil = f.t0 + 7 * DAY): Terms {
  return {
    twinId: TWIN_ID,
    grantee,
    categories: DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
    actions: Action.READ,
    purposes: Purpose.DEVICE_MONITORING,
    validFrom,
    validUntil,
  };
}

function grantTuple(t: Terms) {
  return [t.twinId, t.grantee, t.categories, t.actions, t.purposes, t.validFrom, t.validUntil] as const;
}

// ------------------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------------------

describe("ConsentPolicy", () => {
  describe("deployment", () => {
    it("reads the registry it was given", async () => {
      const { consent, registry } = await loadFixture(consentFixture);
      expect(await consent.registry()).to.equal(await registry.getAddress());
    });

    it("refuses a zero registry", async () => {
      const { admin, consent } = await loadFixture(consentFixture);
      await expect(new ConsentPolicy__factory(admin).deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        consent,
        "ZeroRegistry",
      );
    });

    it("publishes its constants and EIP-712 domain", async () => {
      const f = await loadFixture(consentFixture);
      const { consent } = f;
      expect(await consent.GRANT_TYPEHASH()).to.equal(ethers.id(GRANT_TYPE));
      expect(ethers.TypedDataEncoder.from(GRANT_TYPES).encodeType("Grant")).to.equal(GRANT_TYPE);
      expect(await consent.MAX_EMERGENCY_DURATION()).to.equal(24 * 60 * 60);
      expect(await consent.MAX_REQUEST_DURATION()).to.equal(365 * DAY);
      expect(await consent.EMERGENCY_COOLDOWN()).to.equal(24 * 60 * 60);
      expect(await consent.REQUEST_LIFETIME()).to.equal(30 * DAY);
      const domain = await domainOf(f);
      expect(await consent.DOMAIN_SEPARATOR()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
      const d = await consent.eip712Domain();
      expect([d.name, d.version, d.chainId, d.verifyingContract]).to.deep.equal([
        domain.name,
        domain.version,
        domain.chainId,
        domain.verifyingContract,
      ]);
    });

    it("starts empty", async () => {
      const f = await loadFixture(consentFixture);
      const { consent, clinician, responder } = f;
      expect(await consent.grantOf(TWIN_ID, clinician.address)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n]);
      expect(await consent.emergencyPolicyOf(TWIN_ID)).to.deep.equal([false, 0n, 0n]);
      expect(await consent.emergencyAccessUntil(TWIN_ID, responder.address)).to.equal(0n);
      expect(await consent.emergencyAccessOf(TWIN_ID, responder.address)).to.deep.equal([0n, 0n, 0n]);
      expect(await consent.isBlocked(TWIN_ID, responder.address)).to.equal(false);
      expect(await consent.requestOf(1)).to.deep.equal([ethers.ZeroHash, ethers.ZeroAddress, 0n, 0n, 0n, 0n, 0n]);
      expect(await consent.nonceUsed(f.patient.address, 0)).to.equal(false);
      expect(await consent.grantEpochOf(TWIN_ID, clinician.address)).to.equal(0n);
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("grant", () => {
    it("lets the owner grant, storing the terms in one slot and emitting ConsentGranted", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      await expect(f.consent.connect(f.patient).grant(...grantTuple(t)))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(
          TWIN_ID,
          t.grantee,
          f.patient.address,
          t.categories,
          t.actions,
          t.purposes,
          t.validFrom,
          t.validUntil,
        );
      expect(await f.consent.grantOf(TWIN_ID, t.grantee)).to.deep.equal([
        BigInt(t.categories),
        BigInt(t.actions),
        BigInt(t.purposes),
        BigInt(t.validFrom),
        BigInt(t.validUntil),
        0n,
      ]);
    });

    it("lets a delegate grant, as the grantor", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      await expect(f.consent.connect(f.guardian).grant(...grantTuple(t)))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(
          TWIN_ID,
          t.grantee,
          f.guardian.address,
          t.categories,
          t.actions,
          t.purposes,
          t.validFrom,
          t.validUntil,
        );
    });

    it("replaces the grant on a second grant, even a revoked one", async () => {
      const f = await loadFixture(grantedFixture);
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address);
      const t = { ...termsFor(f, f.clinician.address), categories: DataCategory.IMAGING, purposes: Purpose.AUDIT };
      await f.consent.connect(f.patient).grant(...grantTuple(t));
      const g = await f.consent.grantOf(TWIN_ID, f.clinician.address);
      expect([g.categories, g.purposes, g.validFrom, g.validUntil, g.revokedAt]).to.deep.equal([
        BigInt(DataCategory.IMAGING),
        BigInt(Purpose.AUDIT),
        BigInt(t.validFrom),
        BigInt(t.validUntil),
        0n,
      ]);
    });

    it("accepts every defined bit, a window that started in the past and validFrom zero", async () => {
      const f = await loadFixture(consentFixture);
      const until = f.t0 + DAY;
      await f.consent
        .connect(f.patient)
        .grant(TWIN_ID, f.clinician.address, ALL_CATEGORIES, ALL_ACTIONS, ALL_PURPOSES, 0, until);
      expect(await decision(f, f.clinician.address, ALL_ACTIONS, ALL_CATEGORIES, ALL_PURPOSES)).to.equal(
        Decision.Allowed,
      );
    });

    it("refuses anyone but the owner and delegates", async () => {
      const f = await loadFixture(grantedFixture);
      // A former delegate, the grantee, a custodian, a data source, a responder and a stranger.
      await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address);
      await f.registry.connect(f.patient).removeDelegate(TWIN_ID, f.researcher.address);
      const t = termsFor(f, f.stranger.address);
      for (const who of [f.researcher, f.clinician, f.hospital, f.emr, f.responder, f.stranger]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).grant(...grantTuple(t)),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      // The owner of another twin does not control this one.
      await expectRevert(
        f,
        () => f.consent.connect(f.stranger).grant(...grantTuple({ ...t, grantee: f.clinician.address })),
        "NotTwinController",
        TWIN_ID,
        f.stranger.address,
      );
    });

    it("needs an active twin", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).grant(...grantTuple({ ...t, twinId: UNKNOWN_TWIN })),
        "TwinNotActive",
        UNKNOWN_TWIN,
      );
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(f, () => f.consent.connect(f.patient).grant(...grantTuple(t)), "TwinNotActive", TWIN_ID);
      await expectRevert(f, () => f.consent.connect(f.guardian).grant(...grantTuple(t)), "TwinNotActive", TWIN_ID);
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      await expectRevert(f, () => f.consent.connect(f.patient).grant(...grantTuple(t)), "TwinNotActive", TWIN_ID);
    });

    it("refuses the zero grantee", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, ethers.ZeroAddress);
      await expectRevert(f, () => f.consent.connect(f.patient).grant(...grantTuple(t)), "ZeroGrantee");
    });

    it("refuses empty masks and undefined bits", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const send = (u: Partial<Terms>) => () => f.consent.connect(f.patient).grant(...grantTuple({ ...t, ...u }));
      for (const categories of [0, UNDEFINED_CATEGORY, ALL_CATEGORIES | UNDEFINED_CATEGORY, 2 ** 32 - 1]) {
        await expectRevert(f, send({ categories }), "InvalidCategories", categories);
      }
      for (const actions of [0, UNDEFINED_ACTION, 0xff]) {
        await expectRevert(f, send({ actions }), "InvalidActions", actions);
      }
      for (const purposes of [0, UNDEFINED_PURPOSE, 0xffff]) {
        await expectRevert(f, send({ purposes }), "InvalidPurposes", purposes);
      }
    });

    it("refuses a window that ends before it starts, when it starts, or has ended", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const send = (validFrom: number, validUntil: number) => () =>
        f.consent.connect(f.patient).grant(...grantTuple({ ...t, validFrom, validUntil }));
      const later = f.t0 + 10 * DAY;
      await expectRevert(f, send(later, later - 1), "InvalidWindow", later, later - 1);
      await expectRevert(f, send(later, later), "InvalidWindow", later, later);
      // validUntil equal to the block's timestamp has ended already; one second later it has not.
      let now = await nextTimestamp();
      await expectRevert(f, send(now - 100, now), "InvalidWindow", now - 100, now);
      now = await nextTimestamp();
      await expect(send(now - 100, now + 1)()).to.emit(f.consent, "ConsentGranted");
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("grantBySig", () => {
    it("grants with the owner's signature, relayed by anyone, and uses the nonce", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const sig = await signGrant(f.patient, await domainOf(f), t, f.patient.address, 0n, deadline);
      await expect(f.consent.connect(f.stranger).grantBySig(t, f.patient.address, 0, 0, deadline, sig))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(
          TWIN_ID,
          t.grantee,
          f.patient.address,
          t.categories,
          t.actions,
          t.purposes,
          t.validFrom,
          t.validUntil,
        );
      expect(await f.consent.nonceUsed(f.patient.address, 0)).to.equal(true);
      expect(await f.consent.nonceUsed(f.patient.address, 1)).to.equal(false);
      expect(await f.consent.grantEpochOf(TWIN_ID, t.grantee)).to.equal(1n);
      expect((await f.consent.grantOf(TWIN_ID, t.grantee)).validUntil).to.equal(BigInt(t.validUntil));
      // The same signature again: the nonce is spent.
      await expectRevert(
        f,
        () => f.consent.connect(f.stranger).grantBySig(t, f.patient.address, 0, 0, deadline, sig),
        "NonceAlreadyUsed",
        f.patient.address,
        0n,
      );
      // Another nonce works.
      const t2 = termsFor(f, f.researcher.address);
      const sig2 = await signGrant(f.patient, await domainOf(f), t2, f.patient.address, 1n, deadline);
      await f.consent.connect(f.researcher).grantBySig(t2, f.patient.address, 0, 1, deadline, sig2);
      expect(await f.consent.nonceUsed(f.patient.address, 1)).to.equal(true);
    });

    it("accepts a delegate's signature", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const sig = await signGrant(f.guardian, await domainOf(f), t, f.guardian.address, 0n, deadline);
      await expect(f.consent.connect(f.clinician).grantBySig(t, f.guardian.address, 0, 0, deadline, sig))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(
          TWIN_ID,
          t.grantee,
          f.guardian.address,
          t.categories,
          t.actions,
          t.purposes,
          t.validFrom,
          t.validUntil,
        );
      expect(await f.consent.nonceUsed(f.guardian.address, 0)).to.equal(true);
    });

    it("takes nonces in any order, up to 2**256 - 1, each once", async () => {
      const f = await loadFixture(consentFixture);
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      const grantees = [f.clinician, f.researcher, f.responder, f.hospital];
      const nonces = [5n, 2n ** 256n - 1n, 256n, 0n];
      for (const [i, nonce] of nonces.entries()) {
        const t = termsFor(f, grantees[i].address);
        const sig = await signGrant(f.patient, domain, t, f.patient.address, nonce, deadline);
        await expect(f.consent.grantBySig(t, f.patient.address, 0, nonce, deadline, sig)).to.emit(
          f.consent,
          "ConsentGranted",
        );
        expect(await f.consent.nonceUsed(f.patient.address, nonce)).to.equal(true);
      }
      // Neighbours of the used ones, in the same words and the next, are still free.
      for (const nonce of [4n, 6n, 2n ** 256n - 2n, 255n, 257n, 1n]) {
        expect(await f.consent.nonceUsed(f.patient.address, nonce)).to.equal(false);
      }
      // Another signer's nonce 5 is theirs.
      expect(await f.consent.nonceUsed(f.guardian.address, 5n)).to.equal(false);
      const t = termsFor(f, f.stranger.address);
      const sig = await signGrant(f.patient, domain, t, f.patient.address, 2n ** 256n - 1n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 2n ** 256n - 1n, deadline, sig),
        "NonceAlreadyUsed",
        f.patient.address,
        2n ** 256n - 1n,
      );
    });

    it("works until the deadline, inclusive, and not after", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const domain = await domainOf(f);
      let deadline = (await time.latest()) + 100;
      let sig = await signGrant(f.patient, domain, t, f.patient.address, 0n, deadline);
      await time.setNextBlockTimestamp(deadline);
      await expect(f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, sig)).to.emit(
        f.consent,
        "ConsentGranted",
      );

      deadline = (await time.latest()) + 100;
      sig = await signGrant(f.patient, domain, t, f.patient.address, 1n, deadline, 1);
      await time.setNextBlockTimestamp(deadline + 1);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 1, 1, deadline, sig),
        "SignatureExpired",
        deadline,
        deadline + 1,
      );
    });

    it("refuses a signature by someone else than the named signer", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      // The stranger signs, naming the patient.
      const forged = await signGrant(f.stranger, domain, t, f.patient.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, forged),
        "InvalidSignature",
        f.patient.address,
      );
      // The patient's signature, naming the guardian as signer.
      const misnamed = await signGrant(f.patient, domain, t, f.guardian.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.guardian.address, 0, 0, deadline, misnamed),
        "InvalidSignature",
        f.guardian.address,
      );
      // Garbage and a signature of the wrong length; and the zero signer never verifies.
      const garbage = ethers.hexlify(ethers.randomBytes(65));
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, garbage),
        "InvalidSignature",
        f.patient.address,
      );
      const valid = await signGrant(f.patient, domain, t, f.patient.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, ethers.dataSlice(valid, 0, 64)),
        "InvalidSignature",
        f.patient.address,
      );
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, ethers.ZeroAddress, 0, 0, deadline, garbage),
        "InvalidSignature",
        ethers.ZeroAddress,
      );
    });

    it("refuses a signature over other terms, nonce or deadline", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const sig = await signGrant(f.patient, await domainOf(f), t, f.patient.address, 0n, deadline);
      const tampered: Terms[] = [
        { ...t, grantee: f.stranger.address },
        { ...t, categories: t.categories | DataCategory.GENOMICS },
        { ...t, actions: Action.READ | Action.SHARE },
        { ...t, purposes: Purpose.INSURANCE_CLAIM },
        { ...t, validFrom: t.validFrom - 1 },
        { ...t, validUntil: t.validUntil + DAY },
        { ...t, twinId: OTHER_TWIN },
      ];
      for (const other of tampered) {
        await expectRevert(
          f,
          () => f.consent.grantBySig(other, f.patient.address, 0, 0, deadline, sig),
          "InvalidSignature",
          f.patient.address,
        );
      }
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 0, deadline + 1, sig),
        "InvalidSignature",
        f.patient.address,
      );
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 1, deadline, sig),
        "InvalidSignature",
        f.patient.address,
      );
      // Another epoch: the signature does not verify (it names epoch 0).
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 1, 0, deadline, sig),
        "InvalidSignature",
        f.patient.address,
      );
    });

    it("refuses a signature for another chain, contract, name or version (domain mismatch)", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      const others: TypedDataDomain[] = [
        { ...domain, chainId: 1n },
        { ...domain, verifyingContract: await f.registry.getAddress() },
        { ...domain, name: "TwinLedger TwinRegistry" },
        { ...domain, version: "2" },
      ];
      for (const other of others) {
        const sig = await signGrant(f.patient, other, t, f.patient.address, 0n, deadline);
        await expectRevert(
          f,
          () => f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, sig),
          "InvalidSignature",
          f.patient.address,
        );
      }
    });

    it("refuses a valid signature by someone who does not control the twin", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const sig = await signGrant(f.stranger, await domainOf(f), t, f.stranger.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.stranger.address, 0, 0, deadline, sig),
        "NotTwinController",
        TWIN_ID,
        f.stranger.address,
      );
    });

    it("needs an active twin and valid terms, and then leaves the nonce unspent", async () => {
      const f = await loadFixture(consentFixture);
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      const bad = { ...termsFor(f, f.clinician.address), validUntil: f.t0 - 1 };
      const badSig = await signGrant(f.patient, domain, bad, f.patient.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(bad, f.patient.address, 0, 0, deadline, badSig),
        "InvalidWindow",
        bad.validFrom,
        bad.validUntil,
      );
      const zero = termsFor(f, ethers.ZeroAddress);
      const zeroSig = await signGrant(f.patient, domain, zero, f.patient.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(zero, f.patient.address, 0, 0, deadline, zeroSig),
        "ZeroGrantee",
      );

      const t = termsFor(f, f.clinician.address);
      const sig = await signGrant(f.patient, domain, t, f.patient.address, 0n, deadline);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, sig),
        "TwinNotActive",
        TWIN_ID,
      );
      await f.registry.connect(f.patient).resumeTwin(TWIN_ID);
      await expect(f.consent.grantBySig(t, f.patient.address, 0, 0, deadline, sig)).to.emit(
        f.consent,
        "ConsentGranted",
      );
    });

    it("accepts an ERC-1271 wallet as the signer (the patient's smart account)", async () => {
      const f = await loadFixture(consentFixture);
      const key = f.researcher; // the wallet's key
      const wallet = await new MockERC1271Wallet__factory(f.admin).deploy(key.address);
      const walletAddress = await wallet.getAddress();
      const createTwin = f.registry.interface.encodeFunctionData("createTwin", [
        WALLET_SALT,
        METADATA,
        f.hospital.address,
      ]);
      await wallet.connect(key).execute(await f.registry.getAddress(), createTwin);
      const walletTwin = twinIdOf(walletAddress, WALLET_SALT);
      expect(await f.registry.ownerOf(walletTwin)).to.equal(walletAddress);

      const t = { ...termsFor(f, f.clinician.address), twinId: walletTwin };
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      // The key alone is not the signer: its signature under its own name does not control the twin.
      const asKey = await signGrant(key, domain, t, key.address, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, key.address, 0, 0, deadline, asKey),
        "NotTwinController",
        walletTwin,
        key.address,
      );
      // Someone else's signature for the wallet.
      const forged = await signGrant(f.stranger, domain, t, walletAddress, 0n, deadline);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, walletAddress, 0, 0, deadline, forged),
        "InvalidSignature",
        walletAddress,
      );
      const sig = await signGrant(key, domain, t, walletAddress, 0n, deadline);
      await expect(f.consent.connect(f.stranger).grantBySig(t, walletAddress, 0, 0, deadline, sig))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(walletTwin, t.grantee, walletAddress, t.categories, t.actions, t.purposes, t.validFrom, t.validUntil);
      expect(await f.consent.nonceUsed(walletAddress, 0)).to.equal(true);
    });
    it("regression: an unrelayed signature blocks no later one (nonces are independent)", async () => {
      const f = await loadFixture(consentFixture);
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      // Nonce 0 for the clinician is signed and never relayed; nonce 1 for the researcher on another twin works.
      const t0 = termsFor(f, f.clinician.address);
      const sig0 = await signGrant(f.patient, domain, t0, f.patient.address, 0n, deadline);
      const t1 = termsFor(f, f.researcher.address);
      const sig1 = await signGrant(f.patient, domain, t1, f.patient.address, 1n, deadline);
      await expect(f.consent.grantBySig(t1, f.patient.address, 0, 1, deadline, sig1)).to.emit(
        f.consent,
        "ConsentGranted",
      );
      // And the first still works later, once.
      await expect(f.consent.grantBySig(t0, f.patient.address, 0, 0, deadline, sig0)).to.emit(
        f.consent,
        "ConsentGranted",
      );
    });

    it("regression: a signer cancels a nonce, and its signature can no longer be relayed", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const sig = await signGrant(f.patient, await domainOf(f), t, f.patient.address, 7n, deadline);
      await expect(f.consent.connect(f.patient).cancelNonce(7))
        .to.emit(f.consent, "NonceCancelled")
        .withArgs(f.patient.address, 7);
      expect(await f.consent.nonceUsed(f.patient.address, 7)).to.equal(true);
      await expectRevert(
        f,
        () => f.consent.grantBySig(t, f.patient.address, 0, 7, deadline, sig),
        "NonceAlreadyUsed",
        f.patient.address,
        7,
      );
      // Cancelling twice, or cancelling a used nonce, reverts; nonces are per signer.
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).cancelNonce(7),
        "NonceAlreadyUsed",
        f.patient.address,
        7,
      );
      await expect(f.consent.connect(f.guardian).cancelNonce(7))
        .to.emit(f.consent, "NonceCancelled")
        .withArgs(f.guardian.address, 7);
    });

    it("regression: a later direct grant or update by a controller voids an older signature", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const domain = await domainOf(f);
      const wide = { ...t, categories: ALL_CATEGORIES, purposes: ALL_PURPOSES };
      const sigWide = await signGrant(f.patient, domain, wide, f.patient.address, 0n, deadline);
      // The guardian grants narrower terms directly: the older, wider signature is void.
      await f.consent.connect(f.guardian).grant(...grantTuple(t));
      await expectRevert(
        f,
        () => f.consent.grantBySig(wide, f.patient.address, 0, 0, deadline, sigWide),
        "StaleGrantSignature",
        TWIN_ID,
        f.clinician.address,
        0,
        1,
      );
      // A signature made now (epoch 1) is void after an update.
      const sig1 = await signGrant(f.patient, domain, wide, f.patient.address, 1n, deadline, 1);
      await f.consent.connect(f.patient).updateGrant(...grantTuple({ ...t, actions: Action.AGGREGATE }));
      expect(await f.consent.grantEpochOf(TWIN_ID, f.clinician.address)).to.equal(2n);
      await expectRevert(
        f,
        () => f.consent.grantBySig(wide, f.patient.address, 1, 1, deadline, sig1),
        "StaleGrantSignature",
        TWIN_ID,
        f.clinician.address,
        1,
        2,
      );
      // One made in the current epoch works, and moves the epoch on.
      const sig2 = await signGrant(f.patient, domain, wide, f.patient.address, 2n, deadline, 2);
      await expect(f.consent.grantBySig(wide, f.patient.address, 2, 2, deadline, sig2)).to.emit(
        f.consent,
        "ConsentGranted",
      );
      expect(await f.consent.grantEpochOf(TWIN_ID, f.clinician.address)).to.equal(3n);
      // A future epoch is refused too.
      const sig9 = await signGrant(f.patient, domain, wide, f.patient.address, 3n, deadline, 9);
      await expectRevert(
        f,
        () => f.consent.grantBySig(wide, f.patient.address, 9, 3, deadline, sig9),
        "StaleGrantSignature",
        TWIN_ID,
        f.clinician.address,
        9,
        3,
      );
    });

    it("signs with the library's signGrant: the epoch, and a 15-minute deadline by default", async () => {
      const f = await loadFixture(consentFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const ref = { chainId, address: await f.consent.getAddress() };
      const t = termsFor(f, f.clinician.address);
      await f.consent.connect(f.patient).revoke(TWIN_ID, t.grantee);
      const epoch = Number(await f.consent.grantEpochOf(TWIN_ID, t.grantee));
      const signed = await signGrantWithLibrary(f.patient, ref, t, randomGrantNonce(), undefined, epoch);
      expect(signed.epoch).to.equal(1);
      expect(signed.deadline).to.equal((await time.latest()) + GRANT_SIGNATURE_LIFETIME);
      expect(GRANT_SIGNATURE_LIFETIME).to.equal(15 * 60);
      await expect(
        f.consent.grantBySig(
          signed.terms,
          signed.signer,
          signed.epoch,
          signed.nonce,
          signed.deadline,
          signed.signature,
        ),
      ).to.emit(f.consent, "ConsentGranted");
      // Past the default deadline, a fresh signature's default would have expired.
      const late = await signGrantWithLibrary(f.patient, ref, termsFor(f, f.researcher.address), 1n);
      await time.setNextBlockTimestamp(late.deadline + 1);
      await expectRevert(
        f,
        () => f.consent.grantBySig(late.terms, late.signer, late.epoch, late.nonce, late.deadline, late.signature),
        "SignatureExpired",
        late.deadline,
        late.deadline + 1,
      );
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("updateGrant", () => {
    it("changes the terms of a live grant and emits ConsentUpdated", async () => {
      const f = await loadFixture(grantedFixture);
      const t = { ...termsFor(f, f.clinician.address), categories: DataCategory.LABS, purposes: Purpose.TREATMENT };
      await expect(f.consent.connect(f.guardian).updateGrant(...grantTuple(t)))
        .to.emit(f.consent, "ConsentUpdated")
        .withArgs(
          TWIN_ID,
          t.grantee,
          f.guardian.address,
          t.categories,
          t.actions,
          t.purposes,
          t.validFrom,
          t.validUntil,
        )
        .and.not.to.emit(f.consent, "ConsentGranted");
      expect(await f.consent.grantOf(TWIN_ID, t.grantee)).to.deep.equal([
        BigInt(t.categories),
        BigInt(t.actions),
        BigInt(t.purposes),
        BigInt(t.validFrom),
        BigInt(t.validUntil),
        0n,
      ]);
    });

    it("renews an expired grant", async () => {
      const f = await loadFixture(grantedFixture);
      await time.increaseTo(f.validUntil + 10);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Expired,
      );
      const now = await time.latest();
      const t = { ...termsFor(f, f.clinician.address, now, now + DAY), categories: DataCategory.LABS };
      await f.consent.connect(f.patient).updateGrant(...grantTuple(t));
      expect(
        await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.DEVICE_MONITORING),
      ).to.equal(Decision.Allowed);
    });

    it("refuses when there is no grant, or it is revoked", async () => {
      const f = await loadFixture(grantedFixture);
      const t = termsFor(f, f.researcher.address);
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).updateGrant(...grantTuple(t)),
        "NoActiveGrant",
        TWIN_ID,
        f.researcher.address,
      );
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address);
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).updateGrant(...grantTuple({ ...t, grantee: f.clinician.address })),
        "NoActiveGrant",
        TWIN_ID,
        f.clinician.address,
      );
      // The same grantee on another twin has no grant either.
      await expectRevert(
        f,
        () =>
          f.consent
            .connect(f.stranger)
            .updateGrant(...grantTuple({ ...t, twinId: OTHER_TWIN, grantee: f.clinician.address })),
        "NoActiveGrant",
        OTHER_TWIN,
        f.clinician.address,
      );
    });

    it("refuses others, inactive twins and invalid terms", async () => {
      const f = await loadFixture(grantedFixture);
      const t = termsFor(f, f.clinician.address);
      for (const who of [f.clinician, f.stranger, f.responder, f.hospital]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).updateGrant(...grantTuple(t)),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      const send = (u: Partial<Terms>) => () => f.consent.connect(f.patient).updateGrant(...grantTuple({ ...t, ...u }));
      await expectRevert(f, send({ categories: 0 }), "InvalidCategories", 0);
      await expectRevert(f, send({ actions: UNDEFINED_ACTION }), "InvalidActions", UNDEFINED_ACTION);
      await expectRevert(f, send({ purposes: UNDEFINED_PURPOSE }), "InvalidPurposes", UNDEFINED_PURPOSE);
      await expectRevert(f, send({ validUntil: t.validFrom }), "InvalidWindow", t.validFrom, t.validFrom);
      await expectRevert(f, send({ twinId: UNKNOWN_TWIN }), "TwinNotActive", UNKNOWN_TWIN);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(f, send({}), "TwinNotActive", TWIN_ID);
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("revoke", () => {
    it("lets the owner revoke: revokedAt is set, the event emitted, access ends in that block", async () => {
      const f = await loadFixture(grantedFixture);
      await time.increaseTo(f.validFrom);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Allowed,
      );
      const at = await nextTimestamp();
      await expect(f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address))
        .to.emit(f.consent, "ConsentRevoked")
        .withArgs(TWIN_ID, f.clinician.address, f.patient.address);
      const g = await f.consent.grantOf(TWIN_ID, f.clinician.address);
      expect(g.revokedAt).to.equal(BigInt(at));
      // The rest of the grant is kept, for the record.
      expect([g.categories, g.validFrom, g.validUntil]).to.deep.equal([
        BigInt(CLINICIAN_CATEGORIES),
        BigInt(f.validFrom),
        BigInt(f.validUntil),
      ]);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Revoked,
      );
    });

    it("lets a delegate revoke", async () => {
      const f = await loadFixture(grantedFixture);
      await expect(f.consent.connect(f.guardian).revoke(TWIN_ID, f.clinician.address))
        .to.emit(f.consent, "ConsentRevoked")
        .withArgs(TWIN_ID, f.clinician.address, f.guardian.address);
    });

    it("revokes a grant not yet valid, or expired", async () => {
      const f = await loadFixture(grantedFixture);
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Revoked,
      );
      const now = await time.latest();
      await f.consent.connect(f.patient).grant(...grantTuple(termsFor(f, f.researcher.address, now, now + 10)));
      await time.increaseTo(now + 100);
      await expect(f.consent.connect(f.patient).revoke(TWIN_ID, f.researcher.address)).to.emit(
        f.consent,
        "ConsentRevoked",
      );
    });

    it("with no live grant (none, or revoked already), only bumps the epoch and emits ConsentRevoked", async () => {
      const f = await loadFixture(grantedFixture);
      await expect(f.consent.connect(f.patient).revoke(TWIN_ID, f.researcher.address))
        .to.emit(f.consent, "ConsentRevoked")
        .withArgs(TWIN_ID, f.researcher.address, f.patient.address);
      expect(await f.consent.grantOf(TWIN_ID, f.researcher.address)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n]);
      expect(await f.consent.grantEpochOf(TWIN_ID, f.researcher.address)).to.equal(1n);
      expect(await decision(f, f.researcher.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.NoConsent,
      );
      // A revoked grant keeps its revokedAt; the epoch moves on.
      const at = await nextTimestamp();
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address);
      expect(await f.consent.grantEpochOf(TWIN_ID, f.clinician.address)).to.equal(2n);
      await time.increase(50);
      await expect(f.consent.connect(f.guardian).revoke(TWIN_ID, f.clinician.address))
        .to.emit(f.consent, "ConsentRevoked")
        .withArgs(TWIN_ID, f.clinician.address, f.guardian.address);
      expect((await f.consent.grantOf(TWIN_ID, f.clinician.address)).revokedAt).to.equal(BigInt(at));
      expect(await f.consent.grantEpochOf(TWIN_ID, f.clinician.address)).to.equal(3n);
    });

    it("regression: a revoke before the relay voids the signed grant (v1 reverted NoActiveGrant)", async () => {
      const f = await loadFixture(consentFixture);
      const t = termsFor(f, f.clinician.address);
      const deadline = f.t0 + 3600;
      const sig = await signGrant(f.patient, await domainOf(f), t, f.patient.address, 0n, deadline);
      // The patient changes their mind before anyone relays the signature.
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address);
      await expectRevert(
        f,
        () => f.consent.connect(f.clinician).grantBySig(t, f.patient.address, 0, 0, deadline, sig),
        "StaleGrantSignature",
        TWIN_ID,
        f.clinician.address,
        0,
        1,
      );
      expect(await decision(f, f.clinician.address, t.actions, DataCategory.VITALS, t.purposes)).to.equal(
        Decision.NoConsent,
      );
    });

    it("refuses anyone but the owner and delegates, the grantee included", async () => {
      const f = await loadFixture(grantedFixture);
      await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address);
      await f.registry.connect(f.researcher).removeDelegate(TWIN_ID, f.researcher.address);
      for (const who of [f.clinician, f.researcher, f.stranger, f.hospital, f.responder, f.admin]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).revoke(TWIN_ID, f.clinician.address),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).revoke(UNKNOWN_TWIN, f.clinician.address),
        "NotTwinController",
        UNKNOWN_TWIN,
        f.patient.address,
      );
    });

    it("works on a suspended twin: the patient can always take access away", async () => {
      const f = await loadFixture(grantedFixture);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expect(f.consent.connect(f.guardian).revoke(TWIN_ID, f.clinician.address))
        .to.emit(f.consent, "ConsentRevoked")
        .withArgs(TWIN_ID, f.clinician.address, f.guardian.address);
      await f.registry.connect(f.patient).resumeTwin(TWIN_ID);
      await time.increaseTo(f.validFrom);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Revoked,
      );
    });

    it("works, harmlessly, on an erased twin", async () => {
      const f = await loadFixture(grantedFixture);
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      await expect(f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address))
        .to.emit(f.consent, "ConsentRevoked")
        .withArgs(TWIN_ID, f.clinician.address, f.patient.address);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.TwinErased,
      );
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("consent requests", () => {
    it("requestConsent: sequential ids from 1, an event, a pending request", async () => {
      const f = await loadFixture(consentFixture);
      const send = () =>
        f.consent
          .connect(f.researcher)
          .requestConsent(TWIN_ID, REQUEST_CATEGORIES, REQUEST_PURPOSES, REQUEST_DURATION, REASON);
      expect(await f.consent.connect(f.researcher).requestConsent.staticCall(TWIN_ID, 1, 1, 1, REASON)).to.equal(1n);
      const at = await nextTimestamp();
      await expect(send())
        .to.emit(f.consent, "ConsentRequested")
        .withArgs(1, TWIN_ID, f.researcher.address, REQUEST_CATEGORIES, REQUEST_PURPOSES, REQUEST_DURATION, REASON);
      expect(await f.consent.requestOf(1)).to.deep.equal([
        TWIN_ID,
        f.researcher.address,
        BigInt(REQUEST_CATEGORIES),
        BigInt(REQUEST_PURPOSES),
        BigInt(REQUEST_DURATION),
        BigInt(RequestStatus.Pending),
        BigInt(at + REQUEST_LIFETIME),
      ]);
      // Anyone may ask, without a reason hash, for the longest duration.
      await expect(
        f.consent.connect(f.stranger).requestConsent(TWIN_ID, ALL_CATEGORIES, ALL_PURPOSES, 365 * DAY, ethers.ZeroHash),
      )
        .to.emit(f.consent, "ConsentRequested")
        .withArgs(2, TWIN_ID, f.stranger.address, ALL_CATEGORIES, ALL_PURPOSES, 365 * DAY, ethers.ZeroHash);
      expect((await f.consent.requestOf(2)).requester).to.equal(f.stranger.address);
      // A request grants nothing by itself.
      expect(await decision(f, f.researcher.address, Action.READ, DataCategory.LABS, Purpose.RESEARCH)).to.equal(
        Decision.NoConsent,
      );
    });

    it("requestConsent: refuses invalid masks and durations, and inactive twins", async () => {
      const f = await loadFixture(consentFixture);
      const send =
        (categories: number, purposes: number, duration: number, twinId = TWIN_ID) =>
        () =>
          f.consent.connect(f.researcher).requestConsent(twinId, categories, purposes, duration, REASON);
      await expectRevert(f, send(0, Purpose.RESEARCH, DAY), "InvalidCategories", 0);
      await expectRevert(f, send(UNDEFINED_CATEGORY, Purpose.RESEARCH, DAY), "InvalidCategories", UNDEFINED_CATEGORY);
      await expectRevert(f, send(DataCategory.LABS, 0, DAY), "InvalidPurposes", 0);
      await expectRevert(f, send(DataCategory.LABS, UNDEFINED_PURPOSE, DAY), "InvalidPurposes", UNDEFINED_PURPOSE);
      await expectRevert(f, send(DataCategory.LABS, Purpose.RESEARCH, 0), "InvalidDuration", 0);
      await expectRevert(f, send(DataCategory.LABS, Purpose.RESEARCH, 365 * DAY + 1), "InvalidDuration", 365 * DAY + 1);
      await expectRevert(
        f,
        send(DataCategory.LABS, Purpose.RESEARCH, DAY, UNKNOWN_TWIN),
        "TwinNotActive",
        UNKNOWN_TWIN,
      );
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(f, send(DataCategory.LABS, Purpose.RESEARCH, DAY), "TwinNotActive", TWIN_ID);
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      await expectRevert(f, send(DataCategory.LABS, Purpose.RESEARCH, DAY), "TwinNotActive", TWIN_ID);
    });

    it("grantRequest: grants what was asked, from now for the duration, and closes the request", async () => {
      const f = await loadFixture(requestFixture);
      const now = await nextTimestamp();
      await expect(f.consent.connect(f.patient).grantRequest(f.requestId, Action.AGGREGATE, 0))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(
          TWIN_ID,
          f.researcher.address,
          f.patient.address,
          REQUEST_CATEGORIES,
          Action.AGGREGATE,
          REQUEST_PURPOSES,
          now,
          now + REQUEST_DURATION,
        )
        .and.to.emit(f.consent, "ConsentRequestClosed")
        .withArgs(f.requestId, TWIN_ID, f.patient.address, RequestStatus.Granted);
      expect((await f.consent.requestOf(f.requestId)).status).to.equal(BigInt(RequestStatus.Granted));
      expect(await decision(f, f.researcher.address, Action.AGGREGATE, DataCategory.LABS, Purpose.RESEARCH)).to.equal(
        Decision.Allowed,
      );
      expect(await decision(f, f.researcher.address, Action.READ, DataCategory.LABS, Purpose.RESEARCH)).to.equal(
        Decision.ActionNotGranted,
      );
      // The ConsentGranted log comes first.
      const receipt = await ethers.provider.getTransactionReceipt(
        (await f.consent.queryFilter(f.consent.filters.ConsentRequestClosed()))[0].transactionHash,
      );
      const names = receipt!.logs.map((l) => f.consent.interface.parseLog(l)!.name);
      expect(names).to.deep.equal(["ConsentGranted", "ConsentRequestClosed"]);
    });

    it("grantRequest: from a given start, by a delegate", async () => {
      const f = await loadFixture(requestFixture);
      const from = f.t0 + 10 * DAY;
      await expect(f.consent.connect(f.guardian).grantRequest(f.requestId, Action.READ, from))
        .to.emit(f.consent, "ConsentGranted")
        .withArgs(
          TWIN_ID,
          f.researcher.address,
          f.guardian.address,
          REQUEST_CATEGORIES,
          Action.READ,
          REQUEST_PURPOSES,
          from,
          from + REQUEST_DURATION,
        );
      expect(await decision(f, f.researcher.address, Action.READ, DataCategory.LABS, Purpose.RESEARCH)).to.equal(
        Decision.NotYetValid,
      );
    });

    it("grantRequest: refuses unknown and closed requests, others, inactive twins and bad terms", async () => {
      const f = await loadFixture(requestFixture);
      for (const id of [0n, 2n]) {
        await expectRevert(
          f,
          () => f.consent.connect(f.patient).grantRequest(id, Action.READ, 0),
          "UnknownRequest",
          id,
        );
      }
      for (const who of [f.researcher, f.stranger, f.responder]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).grantRequest(f.requestId, Action.READ, 0),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      const send = (actions: number, validFrom: number) => () =>
        f.consent.connect(f.patient).grantRequest(f.requestId, actions, validFrom);
      await expectRevert(f, send(0, 0), "InvalidActions", 0);
      await expectRevert(f, send(UNDEFINED_ACTION, 0), "InvalidActions", UNDEFINED_ACTION);
      // A window that ended already.
      const past = f.t0 - REQUEST_DURATION - 10;
      await expectRevert(f, send(Action.READ, past), "InvalidWindow", past, past + REQUEST_DURATION);
      // A window that would end past the uint40 range.
      const late = UINT40_MAX - 100;
      const wrapped = (late + REQUEST_DURATION) % 2 ** 40;
      await expectRevert(f, send(Action.READ, late), "InvalidWindow", late, wrapped);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(f, send(Action.READ, 0), "TwinNotActive", TWIN_ID);
      await f.registry.connect(f.patient).resumeTwin(TWIN_ID);
      await f.consent.connect(f.patient).grantRequest(f.requestId, Action.READ, 0);
      await expectRevert(f, send(Action.READ, 0), "RequestNotPending", f.requestId, RequestStatus.Granted);
    });

    it("regression: a request expires after REQUEST_LIFETIME; it can still be denied or withdrawn", async () => {
      const f = await loadFixture(requestFixture);
      const { expiresAt } = await f.consent.requestOf(f.requestId);
      // Grantable up to the last second before expiresAt.
      await time.setNextBlockTimestamp(expiresAt - 1n);
      await f.consent.connect(f.patient).grantRequest.staticCall(f.requestId, Action.READ, 0);
      await time.increaseTo(expiresAt);
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).grantRequest(f.requestId, Action.READ, 0),
        "RequestExpired",
        f.requestId,
        expiresAt,
      );
      await expect(f.consent.connect(f.researcher).withdrawRequest(f.requestId))
        .to.emit(f.consent, "ConsentRequestClosed")
        .withArgs(f.requestId, TWIN_ID, f.researcher.address, RequestStatus.Withdrawn);
      // An expired request no longer counts as open: the researcher may ask again, and that one may be denied late.
      await f.consent.connect(f.researcher).requestConsent(TWIN_ID, DataCategory.LABS, Purpose.RESEARCH, DAY, REASON);
      await time.increase(REQUEST_LIFETIME);
      await expect(f.consent.connect(f.patient).denyRequest(2))
        .to.emit(f.consent, "ConsentRequestClosed")
        .withArgs(2, TWIN_ID, f.patient.address, RequestStatus.Denied);
    });

    it("regression: at most one open request per (twin, requester)", async () => {
      const f = await loadFixture(requestFixture);
      const ask =
        (who = f.researcher, twinId = TWIN_ID) =>
        () =>
          f.consent.connect(who).requestConsent(twinId, DataCategory.LABS, Purpose.RESEARCH, DAY, REASON);
      await expectRevert(f, ask(), "RequestAlreadyOpen", f.requestId);
      // Others, and the same requester on another twin, are not held back.
      await expect(ask(f.stranger)())
        .to.emit(f.consent, "ConsentRequested")
        .withArgs(2, TWIN_ID, f.stranger.address, DataCategory.LABS, Purpose.RESEARCH, DAY, REASON);
      await expect(ask(f.researcher, OTHER_TWIN)()).to.emit(f.consent, "ConsentRequested");
      // Once the open one is closed (denied, withdrawn or granted), a new one may be made.
      await f.consent.connect(f.patient).denyRequest(f.requestId);
      await expect(ask()())
        .to.emit(f.consent, "ConsentRequested")
        .withArgs(4, TWIN_ID, f.researcher.address, DataCategory.LABS, Purpose.RESEARCH, DAY, REASON);
      await expectRevert(f, ask(), "RequestAlreadyOpen", 4);
      await f.consent.connect(f.researcher).withdrawRequest(4);
      await expect(ask()()).to.emit(f.consent, "ConsentRequested");
      await f.consent.connect(f.patient).grantRequest(5, Action.READ, 0);
      await expect(ask()()).to.emit(f.consent, "ConsentRequested");
    });

    it("regression: a blocked requester cannot ask; unblocked, they can", async () => {
      const f = await loadFixture(consentFixture);
      await f.consent.connect(f.patient).setBlocked(TWIN_ID, f.researcher.address, true);
      const ask = () =>
        f.consent.connect(f.researcher).requestConsent(TWIN_ID, DataCategory.LABS, Purpose.RESEARCH, DAY, REASON);
      await expectRevert(f, ask, "AccountIsBlocked", TWIN_ID, f.researcher.address);
      await f.consent.connect(f.guardian).setBlocked(TWIN_ID, f.researcher.address, false);
      await expect(ask()).to.emit(f.consent, "ConsentRequested");
    });

    it("regression: grantRequest never narrows a live grant (GrantExists); a revoked or expired one is replaced", async () => {
      const f = await loadFixture(requestFixture);
      // The patient had granted the researcher more than the request asks for.
      const now = await time.latest();
      const wide = {
        ...termsFor(f, f.researcher.address, now, now + 2 * DAY),
        categories: ALL_CATEGORIES,
        actions: ALL_ACTIONS,
        purposes: ALL_PURPOSES,
      };
      await f.consent.connect(f.patient).grant(...grantTuple(wide));
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).grantRequest(f.requestId, Action.READ, 0),
        "GrantExists",
        TWIN_ID,
        f.researcher.address,
      );
      // A grant not yet valid counts too.
      await f.consent.connect(f.patient).grant(...grantTuple({ ...wide, validFrom: now + DAY }));
      await expectRevert(
        f,
        () => f.consent.connect(f.guardian).grantRequest(f.requestId, Action.READ, 0),
        "GrantExists",
        TWIN_ID,
        f.researcher.address,
      );
      // Once it has expired, answering the request replaces it (nothing current is narrowed), and bumps the epoch.
      await time.increaseTo(now + 2 * DAY);
      const epoch = await f.consent.grantEpochOf(TWIN_ID, f.researcher.address);
      await expect(f.consent.connect(f.patient).grantRequest(f.requestId, Action.READ, 0)).to.emit(
        f.consent,
        "ConsentGranted",
      );
      expect(await f.consent.grantEpochOf(TWIN_ID, f.researcher.address)).to.equal(epoch + 1n);
      // A revoked grant is replaced as well.
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.researcher.address);
      await f.consent.connect(f.researcher).requestConsent(TWIN_ID, DataCategory.LABS, Purpose.RESEARCH, DAY, REASON);
      await expect(f.consent.connect(f.patient).grantRequest(2, Action.READ, 0)).to.emit(f.consent, "ConsentGranted");
    });

    it("denyRequest: by the owner or a delegate, whatever the twin's status", async () => {
      const f = await loadFixture(requestFixture);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expect(f.consent.connect(f.guardian).denyRequest(f.requestId))
        .to.emit(f.consent, "ConsentRequestClosed")
        .withArgs(f.requestId, TWIN_ID, f.guardian.address, RequestStatus.Denied);
      expect((await f.consent.requestOf(f.requestId)).status).to.equal(BigInt(RequestStatus.Denied));
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).denyRequest(f.requestId),
        "RequestNotPending",
        f.requestId,
        RequestStatus.Denied,
      );
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).grantRequest(f.requestId, Action.READ, 0),
        "RequestNotPending",
        f.requestId,
        RequestStatus.Denied,
      );
      expect(await decision(f, f.researcher.address, Action.READ, DataCategory.LABS, Purpose.RESEARCH)).to.equal(
        Decision.TwinSuspended,
      );
    });

    it("denyRequest: the owner on an erased twin; refuses others and unknown requests", async () => {
      const f = await loadFixture(requestFixture);
      for (const who of [f.researcher, f.stranger, f.hospital]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).denyRequest(f.requestId),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      await expectRevert(f, () => f.consent.connect(f.patient).denyRequest(7), "UnknownRequest", 7);
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      await expect(f.consent.connect(f.patient).denyRequest(f.requestId))
        .to.emit(f.consent, "ConsentRequestClosed")
        .withArgs(f.requestId, TWIN_ID, f.patient.address, RequestStatus.Denied);
    });

    it("withdrawRequest: only by the requester, only while pending", async () => {
      const f = await loadFixture(requestFixture);
      for (const who of [f.patient, f.guardian, f.stranger]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).withdrawRequest(f.requestId),
          "NotRequester",
          f.requestId,
          who.address,
        );
      }
      await expectRevert(f, () => f.consent.connect(f.researcher).withdrawRequest(3), "UnknownRequest", 3);
      await expect(f.consent.connect(f.researcher).withdrawRequest(f.requestId))
        .to.emit(f.consent, "ConsentRequestClosed")
        .withArgs(f.requestId, TWIN_ID, f.researcher.address, RequestStatus.Withdrawn);
      expect((await f.consent.requestOf(f.requestId)).status).to.equal(BigInt(RequestStatus.Withdrawn));
      await expectRevert(
        f,
        () => f.consent.connect(f.researcher).withdrawRequest(f.requestId),
        "RequestNotPending",
        f.requestId,
        RequestStatus.Withdrawn,
      );
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).denyRequest(f.requestId),
        "RequestNotPending",
        f.requestId,
        RequestStatus.Withdrawn,
      );
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("emergency policy", () => {
    it("setEmergencyPolicy: by the owner or a delegate, with an event", async () => {
      const f = await loadFixture(consentFixture);
      await expect(f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES))
        .to.emit(f.consent, "EmergencyPolicySet")
        .withArgs(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
      expect(await f.consent.emergencyPolicyOf(TWIN_ID)).to.deep.equal([
        true,
        BigInt(EMERGENCY_MAX),
        BigInt(EMERGENCY_CATEGORIES),
      ]);
      await expect(f.consent.connect(f.guardian).setEmergencyPolicy(TWIN_ID, true, 24 * 3600, ALL_CATEGORIES))
        .to.emit(f.consent, "EmergencyPolicySet")
        .withArgs(TWIN_ID, true, 24 * 3600, ALL_CATEGORIES);
    });

    it("setEmergencyPolicy: a disallowing policy may be empty or prepared", async () => {
      const f = await loadFixture(consentFixture);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, false, 0, 0);
      expect(await f.consent.emergencyPolicyOf(TWIN_ID)).to.deep.equal([false, 0n, 0n]);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, false, 3600, DataCategory.ALLERGIES);
      expect(await f.consent.emergencyPolicyOf(TWIN_ID)).to.deep.equal([false, 3600n, BigInt(DataCategory.ALLERGIES)]);
    });

    it("setEmergencyPolicy: refuses bad durations and categories, others and inactive twins", async () => {
      const f = await loadFixture(consentFixture);
      const send =
        (allowed: boolean, maxDuration: number, categories: number, twinId = TWIN_ID) =>
        () =>
          f.consent.connect(f.patient).setEmergencyPolicy(twinId, allowed, maxDuration, categories);
      const cap = 24 * 3600;
      await expectRevert(f, send(true, cap + 1, EMERGENCY_CATEGORIES), "EmergencyDurationTooLong", cap + 1, cap);
      await expectRevert(f, send(false, cap + 1, 0), "EmergencyDurationTooLong", cap + 1, cap);
      await expectRevert(f, send(true, 0, EMERGENCY_CATEGORIES), "EmergencyDurationTooLong", 0, cap);
      await expectRevert(f, send(true, 3600, 0), "InvalidCategories", 0);
      await expectRevert(f, send(true, 3600, UNDEFINED_CATEGORY), "InvalidCategories", UNDEFINED_CATEGORY);
      await expectRevert(f, send(false, 0, UNDEFINED_CATEGORY | 1), "InvalidCategories", UNDEFINED_CATEGORY | 1);
      for (const who of [f.stranger, f.responder, f.hospital, f.clinician]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).setEmergencyPolicy(TWIN_ID, true, 3600, EMERGENCY_CATEGORIES),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      await expectRevert(f, send(true, 3600, EMERGENCY_CATEGORIES, UNKNOWN_TWIN), "TwinNotActive", UNKNOWN_TWIN);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(f, send(false, 0, 0), "TwinNotActive", TWIN_ID);
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("emergency access", () => {
    it("openEmergencyAccess: an accredited responder, where the policy allows, with the reason on record", async () => {
      const f = await loadFixture(consentFixture);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
      const at = await nextTimestamp();
      await expect(f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, EMERGENCY_MAX, REASON))
        .to.emit(f.consent, "EmergencyAccessOpened")
        .withArgs(TWIN_ID, f.responder.address, at + EMERGENCY_MAX, EMERGENCY_CATEGORIES, REASON);
      expect(await f.consent.emergencyAccessUntil(TWIN_ID, f.responder.address)).to.equal(BigInt(at + EMERGENCY_MAX));
      // Opening again replaces the end (shorter here), with its own event.
      const again = await nextTimestamp();
      await expect(f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, ethers.id("second look")))
        .to.emit(f.consent, "EmergencyAccessOpened")
        .withArgs(TWIN_ID, f.responder.address, again + 60, EMERGENCY_CATEGORIES, ethers.id("second look"));
      expect(await f.consent.emergencyAccessUntil(TWIN_ID, f.responder.address)).to.equal(BigInt(again + 60));
    });

    it("openEmergencyAccess: refuses non-responders and responders no longer accredited", async () => {
      const f = await loadFixture(consentFixture);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
      for (const who of [f.stranger, f.patient, f.guardian, f.hospital, f.clinician]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).openEmergencyAccess(TWIN_ID, 60, REASON),
          "NotEmergencyResponder",
          who.address,
        );
      }
      await f.registry.connect(f.governance).revokeRole(ethers.id("EMERGENCY_RESPONDER_ROLE"), f.responder.address);
      await expectRevert(
        f,
        () => f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON),
        "NotEmergencyResponder",
        f.responder.address,
      );
    });

    it("openEmergencyAccess: refuses without a policy allowing it, on inactive twins, and bad arguments", async () => {
      const f = await loadFixture(consentFixture);
      const send =
        (duration: number, reason = REASON, twinId = TWIN_ID) =>
        () =>
          f.consent.connect(f.responder).openEmergencyAccess(twinId, duration, reason);
      // No policy yet: emergency access is off by default.
      await expectRevert(f, send(60), "EmergencyAccessNotAllowed", TWIN_ID);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, false, 3600, EMERGENCY_CATEGORIES);
      await expectRevert(f, send(60), "EmergencyAccessNotAllowed", TWIN_ID);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
      await expectRevert(f, send(0), "EmergencyDurationTooLong", 0, EMERGENCY_MAX);
      await expectRevert(f, send(EMERGENCY_MAX + 1), "EmergencyDurationTooLong", EMERGENCY_MAX + 1, EMERGENCY_MAX);
      await expectRevert(f, send(60, ethers.ZeroHash), "EmptyReason");
      await expectRevert(f, send(60, REASON, UNKNOWN_TWIN), "TwinNotActive", UNKNOWN_TWIN);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expectRevert(f, send(60), "TwinNotActive", TWIN_ID);
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      await expectRevert(f, send(60), "TwinNotActive", TWIN_ID);
    });

    it("closeEmergencyAccess: by the responder, the owner or a delegate, at once", async () => {
      for (const closer of ["responder", "patient", "guardian"] as const) {
        const f = await loadFixture(emergencyFixture);
        const who = f[closer];
        await expect(f.consent.connect(who).closeEmergencyAccess(TWIN_ID, f.responder.address))
          .to.emit(f.consent, "EmergencyAccessClosed")
          .withArgs(TWIN_ID, f.responder.address, who.address);
        expect(await f.consent.emergencyAccessUntil(TWIN_ID, f.responder.address)).to.equal(0n);
        expect(await decision(f, f.responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(
          Decision.NoConsent,
        );
      }
    });

    it("closeEmergencyAccess: works on a suspended or erased twin", async () => {
      const f = await loadFixture(emergencyFixture);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expect(f.consent.connect(f.guardian).closeEmergencyAccess(TWIN_ID, f.responder.address)).to.emit(
        f.consent,
        "EmergencyAccessClosed",
      );
      const g = await loadFixture(emergencyFixture);
      await g.registry.connect(g.patient).eraseTwin(TWIN_ID);
      await expect(g.consent.connect(g.patient).closeEmergencyAccess(TWIN_ID, g.responder.address)).to.emit(
        g.consent,
        "EmergencyAccessClosed",
      );
    });

    it("closeEmergencyAccess: refuses others, and accesses not open or ended", async () => {
      const f = await loadFixture(emergencyFixture);
      for (const who of [f.stranger, f.clinician, f.hospital]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).closeEmergencyAccess(TWIN_ID, f.responder.address),
          "NotAllowedToClose",
          TWIN_ID,
          who.address,
        );
      }
      // Nothing open for the stranger; the stranger may "close" only its own, and has none.
      await expectRevert(
        f,
        () => f.consent.connect(f.stranger).closeEmergencyAccess(TWIN_ID, f.stranger.address),
        "NoEmergencyAccess",
        TWIN_ID,
        f.stranger.address,
      );
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).closeEmergencyAccess(TWIN_ID, f.stranger.address),
        "NoEmergencyAccess",
        TWIN_ID,
        f.stranger.address,
      );
      // At `until` the access has ended.
      await time.setNextBlockTimestamp(f.until);
      await expectRevert(
        f,
        () => f.consent.connect(f.responder).closeEmergencyAccess(TWIN_ID, f.responder.address),
        "NoEmergencyAccess",
        TWIN_ID,
        f.responder.address,
      );
    });

    it("regression: re-opening never extends past openedAt + maxDuration (v1 allowed 4x)", async () => {
      const f = await loadFixture(consentFixture);
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
      const opened = await nextTimestamp();
      await f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, EMERGENCY_MAX, REASON);
      const cap = opened + EMERGENCY_MAX;
      // The v1 attack: re-open for the maximum just before each end. Each re-opening is capped at the first end.
      for (let i = 0; i < 3; i++) {
        await time.setNextBlockTimestamp(cap - 3 + i);
        await expect(f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, EMERGENCY_MAX, REASON))
          .to.emit(f.consent, "EmergencyAccessOpened")
          .withArgs(TWIN_ID, f.responder.address, cap, EMERGENCY_CATEGORIES, REASON);
      }
      expect(await f.consent.emergencyAccessOf(TWIN_ID, f.responder.address)).to.deep.equal([
        BigInt(opened),
        BigInt(cap),
        0n,
      ]);
      await time.increaseTo(cap);
      expect(await decision(f, f.responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(
        Decision.Expired,
      );
      // After the end, a new opening starts afresh (its own event, its own first opening).
      const fresh = await nextTimestamp();
      await f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON);
      expect(await f.consent.emergencyAccessOf(TWIN_ID, f.responder.address)).to.deep.equal([
        BigInt(fresh),
        BigInt(fresh + 60),
        0n,
      ]);
    });

    it("a re-opening with nothing left under a lowered maximum reverts", async () => {
      const f = await loadFixture(emergencyFixture);
      const { openedAt } = await f.consent.emergencyAccessOf(TWIN_ID, f.responder.address);
      // The patient lowers the maximum to 10 minutes, 30 minutes into a one-hour access.
      await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, 600, EMERGENCY_CATEGORIES);
      await time.setNextBlockTimestamp(Number(openedAt) + 1800);
      await expectRevert(
        f,
        () => f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 600, REASON),
        "EmergencyDurationTooLong",
        600,
        0,
      );
    });

    it("regression: after a controller closes it, the responder cannot re-open for EMERGENCY_COOLDOWN", async () => {
      for (const closer of ["patient", "guardian"] as const) {
        const f = await loadFixture(emergencyFixture);
        const closedAt = await nextTimestamp();
        await f.consent.connect(f[closer]).closeEmergencyAccess(TWIN_ID, f.responder.address);
        const cooldown = closedAt + 24 * 60 * 60;
        expect(await f.consent.emergencyAccessOf(TWIN_ID, f.responder.address)).to.deep.equal([
          0n,
          0n,
          BigInt(cooldown),
        ]);
        // v1: re-opened in the next block.
        await expectRevert(
          f,
          () => f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON),
          "EmergencyCooldown",
          TWIN_ID,
          f.responder.address,
          cooldown,
        );
        await time.setNextBlockTimestamp(cooldown - 1);
        await expectRevert(
          f,
          () => f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON),
          "EmergencyCooldown",
          TWIN_ID,
          f.responder.address,
          cooldown,
        );
        await time.setNextBlockTimestamp(cooldown);
        await expect(f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON)).to.emit(
          f.consent,
          "EmergencyAccessOpened",
        );
      }
    });

    it("a responder closing their own access starts no cooldown", async () => {
      const f = await loadFixture(emergencyFixture);
      await f.consent.connect(f.responder).closeEmergencyAccess(TWIN_ID, f.responder.address);
      expect(await f.consent.emergencyAccessOf(TWIN_ID, f.responder.address)).to.deep.equal([0n, 0n, 0n]);
      await expect(f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON)).to.emit(
        f.consent,
        "EmergencyAccessOpened",
      );
    });

    it("regression: a blocked responder cannot open; blocking closes an open access at once", async () => {
      const f = await loadFixture(emergencyFixture);
      const read = () => decision(f, f.responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY);
      expect(await read()).to.equal(Decision.Allowed);
      await expect(f.consent.connect(f.patient).setBlocked(TWIN_ID, f.responder.address, true))
        .to.emit(f.consent, "AccountBlocked")
        .withArgs(TWIN_ID, f.responder.address, true)
        .and.to.emit(f.consent, "EmergencyAccessClosed")
        .withArgs(TWIN_ID, f.responder.address, f.patient.address);
      expect(await f.consent.isBlocked(TWIN_ID, f.responder.address)).to.equal(true);
      expect(await f.consent.emergencyAccessOf(TWIN_ID, f.responder.address)).to.deep.equal([0n, 0n, 0n]);
      expect(await read()).to.equal(Decision.Blocked);
      await expectRevert(
        f,
        () => f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON),
        "AccountIsBlocked",
        TWIN_ID,
        f.responder.address,
      );
      // Blocking again (nothing open) only emits AccountBlocked; another twin is not affected.
      await expect(f.consent.connect(f.guardian).setBlocked(TWIN_ID, f.responder.address, true))
        .to.emit(f.consent, "AccountBlocked")
        .and.not.to.emit(f.consent, "EmergencyAccessClosed");
      expect(await f.consent.isBlocked(OTHER_TWIN, f.responder.address)).to.equal(false);
      // Unblocked, they may open again (no cooldown from a block).
      await expect(f.consent.connect(f.patient).setBlocked(TWIN_ID, f.responder.address, false))
        .to.emit(f.consent, "AccountBlocked")
        .withArgs(TWIN_ID, f.responder.address, false)
        .and.not.to.emit(f.consent, "EmergencyAccessClosed");
      await f.consent.connect(f.responder).openEmergencyAccess(TWIN_ID, 60, REASON);
      expect(await read()).to.equal(Decision.Allowed);
      // Unblocking never closes an open access.
      await f.consent.connect(f.patient).setBlocked(TWIN_ID, f.responder.address, false);
      expect(await read()).to.equal(Decision.Allowed);
    });

    it("setBlocked: by the owner or a delegate, whatever the twin's status; refuses others", async () => {
      const f = await loadFixture(emergencyFixture);
      for (const who of [f.responder, f.stranger, f.clinician, f.hospital]) {
        await expectRevert(
          f,
          () => f.consent.connect(who).setBlocked(TWIN_ID, f.responder.address, true),
          "NotTwinController",
          TWIN_ID,
          who.address,
        );
      }
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      await expect(f.consent.connect(f.guardian).setBlocked(TWIN_ID, f.responder.address, true)).to.emit(
        f.consent,
        "EmergencyAccessClosed",
      );
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      await expect(f.consent.connect(f.patient).setBlocked(TWIN_ID, f.stranger.address, true)).to.emit(
        f.consent,
        "AccountBlocked",
      );
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("checkAccess and isAuthorized", () => {
    it("revert on empty masks and undefined bits", async () => {
      const f = await loadFixture(grantedFixture);
      const a = f.clinician.address;
      const calls: [() => Promise<unknown>, string, number][] = [
        [() => f.consent.checkAccess(TWIN_ID, a, Action.READ, 0, Purpose.TREATMENT), "InvalidCategories", 0],
        [
          () => f.consent.isAuthorized(TWIN_ID, a, Action.READ, UNDEFINED_CATEGORY, Purpose.TREATMENT),
          "InvalidCategories",
          UNDEFINED_CATEGORY,
        ],
        [() => f.consent.checkAccess(TWIN_ID, a, 0, DataCategory.LABS, Purpose.TREATMENT), "InvalidActions", 0],
        [
          () => f.consent.isAuthorized(TWIN_ID, a, UNDEFINED_ACTION, DataCategory.LABS, Purpose.TREATMENT),
          "InvalidActions",
          UNDEFINED_ACTION,
        ],
        [() => f.consent.checkAccess(TWIN_ID, a, Action.READ, DataCategory.LABS, 0), "InvalidPurposes", 0],
        [
          () => f.consent.isAuthorized(TWIN_ID, a, Action.READ, DataCategory.LABS, UNDEFINED_PURPOSE),
          "InvalidPurposes",
          UNDEFINED_PURPOSE,
        ],
      ];
      for (const [call, name, arg] of calls) {
        await expect(call()).to.be.revertedWithCustomError(f.consent, name).withArgs(arg);
      }
    });

    it("answers UnknownTwin for an unknown twin, whoever asks", async () => {
      const f = await loadFixture(grantedFixture);
      for (const who of [f.patient, f.clinician, f.stranger]) {
        expect(
          await decision(f, who.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT, UNKNOWN_TWIN),
        ).to.equal(Decision.UnknownTwin);
      }
    });

    it("allows the owner and delegates anything on a twin that is not erased", async () => {
      const f = await loadFixture(consentFixture);
      for (const who of [f.patient, f.guardian]) {
        expect(await decision(f, who.address, ALL_ACTIONS, ALL_CATEGORIES, ALL_PURPOSES)).to.equal(Decision.Allowed);
      }
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      for (const who of [f.patient, f.guardian]) {
        expect(await decision(f, who.address, Action.READ, DataCategory.GENOMICS, Purpose.PERSONAL_USE)).to.equal(
          Decision.Allowed,
        );
      }
      expect(await decision(f, f.stranger.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.TwinSuspended,
      );
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      for (const who of [f.patient, f.guardian, f.stranger]) {
        expect(await decision(f, who.address, Action.READ, DataCategory.LABS, Purpose.PERSONAL_USE)).to.equal(
          Decision.TwinErased,
        );
      }
    });

    it("follows the registry: a removed delegate and a new owner", async () => {
      const f = await loadFixture(consentFixture);
      await f.registry.connect(f.patient).removeDelegate(TWIN_ID, f.guardian.address);
      expect(await decision(f, f.guardian.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.NoConsent,
      );
      await f.registry.connect(f.patient).transferOwnership(TWIN_ID, f.researcher.address);
      await f.registry.connect(f.researcher).acceptOwnership(TWIN_ID);
      expect(await decision(f, f.researcher.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Allowed,
      );
      expect(await decision(f, f.patient.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.NoConsent,
      );
      // The new owner can revoke grants the previous owner made; the previous owner cannot.
      const now = await time.latest();
      await f.consent.connect(f.researcher).grant(...grantTuple(termsFor(f, f.clinician.address, now, now + DAY)));
      await expectRevert(
        f,
        () => f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address),
        "NotTwinController",
        TWIN_ID,
        f.patient.address,
      );
    });

    it("answers NoConsent without a grant, and only on the twin granted", async () => {
      const f = await loadFixture(grantedFixture);
      await time.increaseTo(f.validFrom);
      expect(await decision(f, f.stranger.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.NoConsent,
      );
      expect(await decision(f, f.hospital.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.NoConsent,
      );
      expect(
        await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT, OTHER_TWIN),
      ).to.equal(Decision.NoConsent);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Allowed,
      );
    });

    it("holds the window to the second: [validFrom, validUntil)", async () => {
      const f = await loadFixture(grantedFixture);
      const ask = () => decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT);
      await time.increaseTo(f.validFrom - 1);
      expect(await ask(), "just before validFrom").to.equal(Decision.NotYetValid);
      await time.increaseTo(f.validFrom);
      expect(await ask(), "at validFrom").to.equal(Decision.Allowed);
      await time.increaseTo(f.validUntil - 1);
      expect(await ask(), "just before validUntil").to.equal(Decision.Allowed);
      await time.increaseTo(f.validUntil);
      expect(await ask(), "at validUntil").to.equal(Decision.Expired);
    });

    it("asks for every bit of each mask, and says which part is missing", async () => {
      const f = await loadFixture(grantedFixture);
      await time.increaseTo(f.validFrom);
      const ask = (action: number, category: number, purpose: number) =>
        decision(f, f.clinician.address, action, category, purpose);
      expect(await ask(CLINICIAN_ACTIONS, CLINICIAN_CATEGORIES, CLINICIAN_PURPOSES)).to.equal(Decision.Allowed);
      expect(await ask(Action.AGGREGATE, DataCategory.VITALS, Purpose.CARE_COORDINATION)).to.equal(Decision.Allowed);
      expect(await ask(Action.READ, DataCategory.LABS | DataCategory.IMAGING, Purpose.TREATMENT)).to.equal(
        Decision.CategoryNotGranted,
      );
      expect(await ask(Action.READ, DataCategory.MENTAL_HEALTH, Purpose.TREATMENT)).to.equal(
        Decision.CategoryNotGranted,
      );
      expect(await ask(Action.READ | Action.SHARE, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.ActionNotGranted,
      );
      expect(await ask(Action.WRITE, DataCategory.LABS, Purpose.TREATMENT)).to.equal(Decision.ActionNotGranted);
      expect(await ask(Action.READ, DataCategory.LABS, Purpose.TREATMENT | Purpose.RESEARCH)).to.equal(
        Decision.PurposeNotGranted,
      );
      expect(await ask(Action.READ, DataCategory.LABS, Purpose.INSURANCE_CLAIM)).to.equal(Decision.PurposeNotGranted);
      // Reasons in order: category before action before purpose; revocation and window before all three.
      expect(await ask(Action.SHARE, DataCategory.GENOMICS, Purpose.RESEARCH)).to.equal(Decision.CategoryNotGranted);
      expect(await ask(Action.SHARE, DataCategory.LABS, Purpose.RESEARCH)).to.equal(Decision.ActionNotGranted);
      await time.increaseTo(f.validUntil);
      expect(await ask(Action.SHARE, DataCategory.GENOMICS, Purpose.RESEARCH)).to.equal(Decision.Expired);
      await f.consent.connect(f.patient).revoke(TWIN_ID, f.clinician.address);
      expect(await ask(Action.SHARE, DataCategory.GENOMICS, Purpose.RESEARCH)).to.equal(Decision.Revoked);
    });

    it("voids grants while the twin is suspended, and for good once erased", async () => {
      const f = await loadFixture(grantedFixture);
      await time.increaseTo(f.validFrom);
      const ask = (action = Action.READ) =>
        decision(f, f.clinician.address, action, DataCategory.LABS, Purpose.TREATMENT);
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      expect(await ask()).to.equal(Decision.TwinSuspended);
      expect(await ask(Action.SHARE)).to.equal(Decision.TwinSuspended);
      await f.registry.connect(f.guardian).resumeTwin(TWIN_ID);
      expect(await ask()).to.equal(Decision.Allowed);
      await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
      expect(await ask()).to.equal(Decision.TwinErased);
      expect(await ask(Action.SHARE)).to.equal(Decision.TwinErased);
    });

    it("allows a delegate whose own grant refuses (the controller rule wins)", async () => {
      const f = await loadFixture(grantedFixture);
      const now = await time.latest();
      await f.consent.connect(f.patient).grant(...grantTuple(termsFor(f, f.guardian.address, now, now + 10)));
      await time.increaseTo(now + 100);
      expect(
        await decision(f, f.guardian.address, Action.READ, DataCategory.VITALS, Purpose.DEVICE_MONITORING),
      ).to.equal(Decision.Allowed);
    });

    it("answers Blocked for a blocked account without a grant; a direct grant still applies", async () => {
      const f = await loadFixture(grantedFixture);
      await f.consent.connect(f.patient).setBlocked(TWIN_ID, f.clinician.address, true);
      await f.consent.connect(f.patient).setBlocked(TWIN_ID, f.stranger.address, true);
      expect(await decision(f, f.stranger.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Blocked,
      );
      // The clinician's grant is the patient's explicit act: it answers as before the block.
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.NotYetValid,
      );
      await time.increaseTo(f.validFrom);
      expect(await decision(f, f.clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Allowed,
      );
      // The controller rule comes first, and suspension before the block.
      await f.consent.connect(f.patient).setBlocked(TWIN_ID, f.guardian.address, true);
      expect(await decision(f, f.guardian.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.Allowed,
      );
      await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
      expect(await decision(f, f.stranger.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(
        Decision.TwinSuspended,
      );
    });

    describe("the emergency path", () => {
      it("allows READ for EMERGENCY on the policy's categories while open, and nothing else", async () => {
        const f = await loadFixture(emergencyFixture);
        const ask = (action: number, category: number, purpose: number) =>
          decision(f, f.responder.address, action, category, purpose);
        expect(await ask(Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(Decision.Allowed);
        expect(await ask(Action.READ, EMERGENCY_CATEGORIES, Purpose.EMERGENCY)).to.equal(Decision.Allowed);
        expect(await ask(Action.READ, DataCategory.GENOMICS, Purpose.EMERGENCY)).to.equal(Decision.CategoryNotGranted);
        expect(await ask(Action.READ, DataCategory.ALLERGIES | DataCategory.LABS, Purpose.EMERGENCY)).to.equal(
          Decision.CategoryNotGranted,
        );
        expect(await ask(Action.AGGREGATE, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(
          Decision.ActionNotGranted,
        );
        expect(await ask(Action.READ | Action.SHARE, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(
          Decision.ActionNotGranted,
        );
        expect(await ask(Action.READ, DataCategory.ALLERGIES, Purpose.TREATMENT)).to.equal(Decision.PurposeNotGranted);
        expect(await ask(Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY | Purpose.TREATMENT)).to.equal(
          Decision.PurposeNotGranted,
        );
        // Only the responder who opened it.
        await f.registry.connect(f.governance).grantRole(ethers.id("EMERGENCY_RESPONDER_ROLE"), f.stranger.address);
        expect(await decision(f, f.stranger.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(
          Decision.NoConsent,
        );
        // And only on this twin.
        expect(
          await decision(f, f.responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY, OTHER_TWIN),
        ).to.equal(Decision.NoConsent);
      });

      it("ends at `until`, to the second", async () => {
        const f = await loadFixture(emergencyFixture);
        const ask = () => decision(f, f.responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY);
        await time.increaseTo(f.until - 1);
        expect(await ask()).to.equal(Decision.Allowed);
        await time.increaseTo(f.until);
        expect(await ask()).to.equal(Decision.Expired);
      });

      it("follows the patient's current policy and the responder's accreditation", async () => {
        const f = await loadFixture(emergencyFixture);
        const ask = () => decision(f, f.responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY);
        await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, DataCategory.CONDITIONS);
        expect(await ask()).to.equal(Decision.CategoryNotGranted);
        await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, false, 0, 0);
        expect(await ask()).to.equal(Decision.Revoked);
        await f.consent.connect(f.patient).setEmergencyPolicy(TWIN_ID, true, EMERGENCY_MAX, EMERGENCY_CATEGORIES);
        expect(await ask()).to.equal(Decision.Allowed);
        const role = ethers.id("EMERGENCY_RESPONDER_ROLE");
        await f.registry.connect(f.governance).revokeRole(role, f.responder.address);
        expect(await ask()).to.equal(Decision.NoConsent);
        await f.registry.connect(f.governance).grantRole(role, f.responder.address);
        expect(await ask()).to.equal(Decision.Allowed);
        await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
        expect(await ask()).to.equal(Decision.TwinSuspended);
        await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
        expect(await ask()).to.equal(Decision.TwinErased);
      });

      it("combines with a grant: either allows; else the grant's reason", async () => {
        const f = await loadFixture(emergencyFixture);
        const now = await time.latest();
        await f.consent
          .connect(f.patient)
          .grant(TWIN_ID, f.responder.address, DataCategory.LABS, Action.READ, Purpose.TREATMENT, now, now + DAY);
        const ask = (action: number, category: number, purpose: number) =>
          decision(f, f.responder.address, action, category, purpose);
        expect(await ask(Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(Decision.Allowed);
        expect(await ask(Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(Decision.Allowed);
        expect(await ask(Action.READ, DataCategory.IMAGING, Purpose.TREATMENT)).to.equal(Decision.CategoryNotGranted);
        expect(await ask(Action.READ, DataCategory.LABS, Purpose.RESEARCH)).to.equal(Decision.PurposeNotGranted);
        await f.consent.connect(f.patient).revoke(TWIN_ID, f.responder.address);
        expect(await ask(Action.READ, DataCategory.LABS, Purpose.TREATMENT)).to.equal(Decision.Revoked);
        expect(await ask(Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY)).to.equal(Decision.Allowed);
      });
    });
  });

  // ----------------------------------------------------------------------------------------------------------
  describe("the registry's answers", () => {
    /** A ConsentPolicy reading a registry whose answers the test sets byte for byte. */
    async function mockRegistryFixture() {
      const [admin, patient, clinician] = await ethers.getSigners();
      const mock = await new MockRegistryAnswers__factory(admin).deploy();
      const consent = await new ConsentPolicy__factory(admin).deploy(await mock.getAddress());
      const iface = new ethers.Interface([
        "function statusOf(bytes32) view returns (uint8)",
        "function ownerOf(bytes32) view returns (address)",
        "function isDelegate(bytes32,address) view returns (bool)",
        "function accessContext(bytes32,address) view returns (uint8,bool)",
        "function isEmergencyResponder(address) view returns (bool)",
      ]);
      const selector = (name: string) => iface.getFunction(name)!.selector;
      const words = (...values: bigint[]) => ethers.concat(values.map((v) => ethers.toBeHex(v, 32)));
      const answer = (name: string, data: string) => mock.setAnswer(selector(name), data);
      return { admin, patient, clinician, mock, consent, selector, words, answer };
    }

    it("regression: a one-word answer to accessContext fails closed (v1 read the second word from scratch)", async () => {
      const { patient, clinician, consent, selector, words, answer } = await loadFixture(mockRegistryFixture);
      const now = await time.latest();
      const args = [
        TWIN_ID,
        clinician.address,
        DataCategory.LABS,
        Action.READ,
        Purpose.TREATMENT,
        now,
        now + DAY,
      ] as const;
      await answer("accessContext", words(1n));
      await expect(consent.connect(patient).grant(...args))
        .to.be.revertedWithCustomError(consent, "InvalidRegistryAnswer")
        .withArgs(selector("accessContext"), 32, 64);
      // Longer than two words fails too; exactly two words is read.
      await answer("accessContext", words(1n, 1n, 1n));
      await expect(consent.connect(patient).grant(...args))
        .to.be.revertedWithCustomError(consent, "InvalidRegistryAnswer")
        .withArgs(selector("accessContext"), 96, 64);
      // A malformed boolean (2) is not "true": not a controller.
      await answer("accessContext", words(1n, 2n));
      await expect(consent.connect(patient).grant(...args))
        .to.be.revertedWithCustomError(consent, "NotTwinController")
        .withArgs(TWIN_ID, patient.address);
      await answer("accessContext", words(1n, 1n));
      await expect(consent.connect(patient).grant(...args)).to.emit(consent, "ConsentGranted");
      // The consent view asks statusOf for an allowing grant: one word exactly.
      await answer("statusOf", words(1n));
      expect(
        await consent.isAuthorized(TWIN_ID, clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT),
      ).to.equal(true);
      for (const bad of ["0x", ethers.dataSlice(words(1n), 0, 31), words(1n, 0n)]) {
        await answer("statusOf", bad);
        await expect(consent.checkAccess(TWIN_ID, clinician.address, Action.READ, DataCategory.LABS, Purpose.TREATMENT))
          .to.be.revertedWithCustomError(consent, "InvalidRegistryAnswer")
          .withArgs(selector("statusOf"), ethers.dataLength(bad), 32);
      }
    });

    it("checks one-word answers exactly (ownerOf, isDelegate, isEmergencyResponder) and fails closed", async () => {
      const { patient, clinician, consent, selector, words, answer } = await loadFixture(mockRegistryFixture);
      const owner = BigInt(patient.address);
      await answer("ownerOf", words(owner, 0n));
      await expect(consent.connect(patient).revoke(TWIN_ID, clinician.address))
        .to.be.revertedWithCustomError(consent, "InvalidRegistryAnswer")
        .withArgs(selector("ownerOf"), 64, 32);
      await answer("ownerOf", words(owner));
      await expect(consent.connect(patient).revoke(TWIN_ID, clinician.address)).to.emit(consent, "ConsentRevoked");
      // Someone else: the delegate view must answer one word.
      await answer("isDelegate", "0x");
      await expect(consent.connect(clinician).revoke(TWIN_ID, clinician.address))
        .to.be.revertedWithCustomError(consent, "InvalidRegistryAnswer")
        .withArgs(selector("isDelegate"), 0, 32);
      await answer("isDelegate", words(2n));
      await expect(consent.connect(clinician).revoke(TWIN_ID, clinician.address))
        .to.be.revertedWithCustomError(consent, "NotTwinController")
        .withArgs(TWIN_ID, clinician.address);
      await answer("isEmergencyResponder", words(1n, 1n));
      await expect(consent.connect(clinician).openEmergencyAccess(TWIN_ID, 60, REASON))
        .to.be.revertedWithCustomError(consent, "InvalidRegistryAnswer")
        .withArgs(selector("isEmergencyResponder"), 64, 32);
    });

    it("bubbles a registry revert up", async () => {
      const { patient, clinician, mock, consent, selector } = await loadFixture(mockRegistryFixture);
      await mock.setReverts(selector("ownerOf"), true);
      await expect(consent.connect(patient).revoke(TWIN_ID, clinician.address))
        .to.be.revertedWithCustomError(mock, "MockRegistryReverted")
        .withArgs(selector("ownerOf"));
    });
  });
});
