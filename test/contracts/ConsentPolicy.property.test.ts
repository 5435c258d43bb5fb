import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import fc from "fast-check";
import {
  AccessDecision as Decision,
  ALL_ACTIONS,
  ALL_CATEGORIES,
  ALL_PURPOSES,
  Action,
  DataCategory,
  Purpose,
} from "../../src/vocabulary";
import { ethers } from "hardhat";
import { signGrant } from "../../src/chain/typed-data";
import { TWIN_ID, twinFixture } from "../fixtures";

/*
 * Properties of the consent rule, checked against a TypeScript model over random grants, revocations, suspensions,
 * times and queries: a grantee is authorized exactly when the twin is active, the grant is not revoked,
 * validFrom <= now < validUntil, and every asked bit is granted; never after revocation; each pair's epoch counts
 * the controllers' writes to it; and unordered nonces are used exactly once, whatever their order.
 */

const NUM_RUNS = 50;
const GRANTEES = ["clinician", "researcher", "stranger"] as const;
const GRANTORS = ["patient", "guardian"] as const;

interface ModelGrant {
  categories: number;
  actions: number;
  purposes: number;
  validFrom: number;
  validUntil: number;
  revoked: boolean;
}

interface Query {
  grantee: number;
  action: number;
  category: number;
  purpose: number;
}

/** The model: what `checkAccess` answers for a grantee (never a controller) on a known, not erased twin. */
function modelDecision(active: boolean, g: ModelGrant | undefined, now: number, q: Query): Decision {
  if (!active) return Decision.TwinSuspended;
  if (g === undefined) return Decision.NoConsent;
  if (g.revoked) return Decision.Revoked;
  if (now < g.validFrom) return Decision.NotYetValid;
  if (now >= g.validUntil) return Decision.Expired;
  if ((q.category & ~g.categories) !== 0) return Decision.CategoryNotGranted;
  if ((q.action & ~g.actions) !== 0) return Decision.ActionNotGranted;
  if ((q.purpose & ~g.purposes) !== 0) return Decision.PurposeNotGranted;
  return Decision.Allowed;
}

/** A mask: often a single bit (likely inside a random grant), else any valid mask. */
function maskArb(table: Record<string, number>, all: number): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(...Object.values(table)), fc.integer({ min: 1, max: all }));
}

const queryArb: fc.Arbitrary<Query> = fc.record({
  grantee: fc.integer({ min: 0, max: GRANTEES.length - 1 }),
  action: maskArb(Action, ALL_ACTIONS),
  category: maskArb(DataCategory, ALL_CATEGORIES),
  purpose: maskArb(Purpose, ALL_PURPOSES),
});

/**
 * A query of a scenario: half the time drawn inside the grantee's current grant (`pick` chooses which of its bits),
 * so that random scenarios reach `Allowed` and the refusals next to it, not only `NoConsent`.
 */
const scenarioQueryArb = fc.record({
  query: queryArb,
  inside: fc.boolean(),
  pick: fc.record({
    action: fc.integer({ min: 0, max: ALL_ACTIONS }),
    category: fc.integer({ min: 0, max: ALL_CATEGORIES }),
    purpose: fc.integer({ min: 0, max: ALL_PURPOSES }),
  }),
});
type ScenarioQuery = typeof scenarioQueryArb extends fc.Arbitrary<infer T> ? T : never;

/** Some bits of `mask` (never none): those `pick` selects, else its lowest bit. */
function someBitsOf(mask: number, pick: number): number {
  return mask & pick || mask & -mask;
}

function resolveQuery(q: ScenarioQuery, model: Map<number, ModelGrant>): Query {
  const granted = [...model.keys()].sort();
  if (!q.inside || granted.length === 0) return q.query;
  const grantee = granted[q.query.grantee % granted.length];
  const grant = model.get(grantee)!;
  return {
    grantee,
    action: someBitsOf(grant.actions, q.pick.action),
    category: someBitsOf(grant.categories, q.pick.category),
    purpose: someBitsOf(grant.purposes, q.pick.purpose),
  };
}

const grantArb = fc.record({
  grantee: fc.integer({ min: 0, max: GRANTEES.length - 1 }),
  grantor: fc.integer({ min: 0, max: GRANTORS.length - 1 }),
  categories: maskArb(DataCategory, ALL_CATEGORIES),
  actions: maskArb(Action, ALL_ACTIONS),
  purposes: maskArb(Purpose, ALL_PURPOSES),
  // Relative to the transaction's time: may start in the past, and may have ended already (then it must revert).
  fromOffset: fc.integer({ min: -400, max: 400 }),
  length: fc.integer({ min: 1, max: 3000 }),
});

type GrantArgs = typeof grantArb extends fc.Arbitrary<infer T> ? T : never;
/** One step of a scenario, `dt` seconds after the previous one. */
type Op =
  | { kind: "grant"; dt: number; grant: GrantArgs }
  | { kind: "revoke"; dt: number; grantee: number; by: number }
  | { kind: "suspend"; dt: number }
  | { kind: "resume"; dt: number }
  | { kind: "query"; dt: number; query: ScenarioQuery };

const dtArb = fc.integer({ min: 1, max: 300 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("grant" as const), dt: dtArb, grant: grantArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("revoke" as const),
      dt: dtArb,
      grantee: fc.integer({ min: 0, max: GRANTEES.length - 1 }),
      by: fc.integer({ min: 0, max: GRANTORS.length - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("suspend" as const), dt: dtArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("resume" as const), dt: dtArb }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("query" as const), dt: dtArb, query: scenarioQueryArb }) },
);

/** `twinFixture` with the guardian as the patient's delegate. */
async function propertyFixture() {
  const f = await twinFixture();
  await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.guardian.address);
  return f;
}

type Fixture = Awaited<ReturnType<typeof propertyFixture>>;

/** Asks the contract both views and compares them with the model. */
async function checkQuery(f: Fixture, model: Map<number, ModelGrant>, active: boolean, now: number, q: Query) {
  const account = f[GRANTEES[q.grantee]].address;
  const expected = modelDecision(active, model.get(q.grantee), now, q);
  const args = [TWIN_ID, account, q.action, q.category, q.purpose] as const;
  const context = `query ${JSON.stringify(q)} at ${now}, grant ${JSON.stringify(model.get(q.grantee))}`;
  expect(Number(await f.consent.checkAccess(...args)), context).to.equal(expected);
  expect(await f.consent.isAuthorized(...args), context).to.equal(expected === Decision.Allowed);
}

describe("ConsentPolicy properties", () => {
  it("authorizes exactly inside the window, within the granted bits, unrevoked, on an active twin", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 16 }), async (ops) => {
        const f = await loadFixture(propertyFixture);
        const model = new Map<number, ModelGrant>();
        // Every successful grant or revoke of a pair increments its epoch; nothing else does.
        const epochs = GRANTEES.map(() => 0);
        let active = true;
        for (const op of ops) {
          // Each step runs `dt` seconds after the last block (a reverted transaction may or may not have mined one).
          const now = (await time.latest()) + op.dt;
          if (op.kind === "query") {
            await time.increaseTo(now);
            await checkQuery(f, model, active, now, resolveQuery(op.query, model));
            continue;
          }
          if (op.kind === "suspend" || op.kind === "resume") {
            if ((op.kind === "suspend") !== active) continue; // not applicable in this state
            await time.setNextBlockTimestamp(now);
            if (op.kind === "suspend") await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
            else await f.registry.connect(f.guardian).resumeTwin(TWIN_ID);
            active = !active;
            continue;
          }
          if (op.kind === "revoke") {
            const grantee = f[GRANTEES[op.grantee]].address;
            const current = model.get(op.grantee);
            await time.setNextBlockTimestamp(now);
            // A revoke always succeeds for a controller and moves the epoch on; only a live grant gets revokedAt.
            await expect(f.consent.connect(f[GRANTORS[op.by]]).revoke(TWIN_ID, grantee)).to.emit(
              f.consent,
              "ConsentRevoked",
            );
            epochs[op.grantee]++;
            if (current !== undefined) current.revoked = true;
            continue;
          }
          const g = op.grant;
          const validFrom = Math.max(0, now + g.fromOffset);
          const validUntil = validFrom + g.length;
          await time.setNextBlockTimestamp(now);
          const send = f.consent
            .connect(f[GRANTORS[g.grantor]])
            .grant(TWIN_ID, f[GRANTEES[g.grantee]].address, g.categories, g.actions, g.purposes, validFrom, validUntil);
          if (!active) {
            await expect(send).to.be.revertedWithCustomError(f.consent, "TwinNotActive");
          } else if (validUntil <= now) {
            await expect(send).to.be.revertedWithCustomError(f.consent, "InvalidWindow");
          } else {
            await expect(send).to.emit(f.consent, "ConsentGranted");
            model.set(g.grantee, { ...g, validFrom, validUntil, revoked: false });
            epochs[g.grantee]++;
          }
        }
        // Finally, every grantee's epoch, and every grantee on a fixed set of queries, a second later.
        const end = (await time.latest()) + 1;
        await time.increaseTo(end);
        for (let grantee = 0; grantee < GRANTEES.length; grantee++) {
          expect(await f.consent.grantEpochOf(TWIN_ID, f[GRANTEES[grantee]].address)).to.equal(BigInt(epochs[grantee]));
          const g = model.get(grantee);
          for (const [action, category, purpose] of [
            [Action.READ, DataCategory.LABS, Purpose.TREATMENT],
            [ALL_ACTIONS, ALL_CATEGORIES, ALL_PURPOSES],
            ...(g ? [[g.actions, g.categories, g.purposes]] : []),
          ]) {
            await checkQuery(f, model, active, end, { grantee, action, category, purpose });
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("never authorizes after revocation, whatever the terms, time or query", async () => {
    await fc.assert(
      fc.asyncProperty(
        grantArb,
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 1, max: 2000 }), query: queryArb }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (g, revokeAfter, queries) => {
          const f = await loadFixture(propertyFixture);
          const t0 = await time.latest();
          const validFrom = t0 + 10 + g.fromOffset;
          const validUntil = Math.max(validFrom, t0 + 2) + g.length;
          const grantee = f[GRANTEES[g.grantee]].address;
          await time.setNextBlockTimestamp(t0 + 1);
          await f.consent
            .connect(f[GRANTORS[g.grantor]])
            .grant(TWIN_ID, grantee, g.categories, g.actions, g.purposes, validFrom, validUntil);
          // Before revocation, the grant itself allows (asked for exactly its terms, inside its window).
          const inside = Math.max(validFrom, (await time.latest()) + 1);
          if (inside < validUntil) {
            await time.increaseTo(inside);
            expect(await f.consent.isAuthorized(TWIN_ID, grantee, g.actions, g.categories, g.purposes)).to.equal(true);
          }
          let now = (await time.latest()) + revokeAfter;
          await time.setNextBlockTimestamp(now);
          await f.consent.connect(f[GRANTORS[g.grantor]]).revoke(TWIN_ID, grantee);
          expect((await f.consent.grantOf(TWIN_ID, grantee)).revokedAt).to.equal(BigInt(now));
          for (const { dt, query } of [{ dt: 0, query: { ...query0(g), grantee: g.grantee } }, ...queries]) {
            now += dt;
            if (dt > 0) await time.increaseTo(now);
            const account = f[GRANTEES[query.grantee]].address;
            const args = [TWIN_ID, account, query.action, query.category, query.purpose] as const;
            if (query.grantee === g.grantee) {
              expect(await f.consent.isAuthorized(...args)).to.equal(false);
              expect(Number(await f.consent.checkAccess(...args))).to.equal(Decision.Revoked);
            } else {
              expect(Number(await f.consent.checkAccess(...args))).to.equal(Decision.NoConsent);
            }
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("uses each unordered nonce once, in any order, cancelled or not, and names the current epoch", async () => {
    // Nonces from a small pool spread over several bitmap words (and the last one), so that draws repeat.
    const pool = [0n, 1n, 2n, 255n, 256n, 257n, 1000n, 2n ** 255n, 2n ** 256n - 1n];
    const stepArb = fc.record({
      cancel: fc.boolean(),
      nonce: fc.constantFrom(...pool),
      grantee: fc.integer({ min: 0, max: GRANTEES.length - 1 }),
      // Sometimes the signature names a stale epoch (one behind), which must be refused.
      stale: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
        const f = await loadFixture(propertyFixture);
        const { chainId } = await ethers.provider.getNetwork();
        const ref = { chainId, address: await f.consent.getAddress() };
        const used = new Set<bigint>();
        const epochs = GRANTEES.map(() => 0);
        const deadline = (await time.latest()) + 3600;
        for (const step of steps) {
          if (step.cancel) {
            const send = f.consent.connect(f.patient).cancelNonce(step.nonce);
            if (used.has(step.nonce)) {
              await expect(send).to.be.revertedWithCustomError(f.consent, "NonceAlreadyUsed");
            } else {
              await expect(send).to.emit(f.consent, "NonceCancelled").withArgs(f.patient.address, step.nonce);
              used.add(step.nonce);
            }
            continue;
          }
          const now = await time.latest();
          const terms = {
            twinId: TWIN_ID,
            grantee: f[GRANTEES[step.grantee]].address,
            categories: DataCategory.LABS,
            actions: Action.READ,
            purposes: Purpose.RESEARCH,
            validFrom: now,
            validUntil: now + 3600,
          };
          const epoch = step.stale && epochs[step.grantee] > 0 ? epochs[step.grantee] - 1 : epochs[step.grantee];
          const g = await signGrant(f.patient, ref, terms, step.nonce, deadline, epoch);
          const send = f.consent.grantBySig(g.terms, g.signer, g.epoch, g.nonce, g.deadline, g.signature);
          if (used.has(step.nonce)) {
            await expect(send).to.be.revertedWithCustomError(f.consent, "NonceAlreadyUsed");
          } else if (epoch !== epochs[step.grantee]) {
            await expect(send).to.be.revertedWithCustomError(f.consent, "StaleGrantSignature");
          } else {
            await expect(send).to.emit(f.consent, "ConsentGranted");
            used.add(step.nonce);
            epochs[step.grantee]++;
          }
        }
        for (const nonce of pool) {
          expect(await f.consent.nonceUsed(f.patient.address, nonce), `nonce ${nonce}`).to.equal(used.has(nonce));
          expect(await f.consent.nonceUsed(f.guardian.address, nonce)).to.equal(false);
        }
        for (let grantee = 0; grantee < GRANTEES.length; grantee++) {
          expect(await f.consent.grantEpochOf(TWIN_ID, f[GRANTEES[grantee]].address)).to.equal(BigInt(epochs[grantee]));
        }
      }),
      { numRuns: 25 },
    );
  });
});

/** The query for exactly the grant's terms. */
function query0(g: { categories: number; actions: number; purposes: number }): Omit<Query, "grantee"> {
  return { action: g.actions, category: g.categories, purpose: g.purposes };
}
