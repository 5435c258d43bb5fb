import { time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import { emergencyReasonCommitment } from "../../../src/chain";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { GatewayHarness } from "./harness";

/**
 * A model-based test of the gateway: random sequences of grant, narrow, revoke, expiry by time, emergency open and
 * close, erasure, query and replay, each gateway answer compared with a model of who may read what. The chain is
 * the hardhat network; the data is the harness's anchored twin (FakeTwinData).
 *
 * The model: a reader may read the twin's wearable stream iff the twin is not erased and either holds a grant that
 * is not revoked, covers WEARABLE_STREAMS and has `now < validUntil` (now: the head block's time), or (the
 * responder) has emergency access with `now < until`. A replayed body is always 409.
 */

const CATEGORY = DataCategory.WEARABLE_STREAMS;
const GRANTED = DataCategory.WEARABLE_STREAMS | DataCategory.VITALS;
const NARROWED = DataCategory.VITALS;

interface Grant {
  categories: number;
  until: number;
  revoked: boolean;
}

interface Model {
  grants: Map<string, Grant>;
  emergencyUntil: number;
  erased: boolean;
  lastBody?: unknown;
  /** The statuses the gateway answered, in order (queries and replays). */
  answers: number[];
}

interface Real {
  h: GatewayHarness;
  readers: HardhatEthersSigner[];
}

const mined = async (send: () => Promise<ContractTransactionResponse>) => {
  try {
    return (await (await send()).wait()) ?? undefined;
  } catch {
    return undefined; // a revert: the model says whether one was allowed
  }
};

class GrantCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly reader: number,
    readonly duration: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const who = r.readers[this.reader].address;
    const until = (await time.latest()) + this.duration;
    const { f } = r.h;
    const receipt = await mined(() =>
      f.consent.connect(f.patient).grant(f.twinId, who, GRANTED, Action.READ, Purpose.TREATMENT, 0, until),
    );
    expect(receipt !== undefined, "a grant on a live twin is mined, on an erased one refused").to.equal(!m.erased);
    if (receipt) m.grants.set(who, { categories: GRANTED, until, revoked: false });
  }
  toString = () => `grant(${this.reader}, ${this.duration}s)`;
}

class NarrowCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly reader: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const who = r.readers[this.reader].address;
    const grant = m.grants.get(who);
    const now = await time.latest();
    // Narrowing means replacing a live grant by one without the wearable stream, same end.
    if (grant === undefined || grant.revoked || grant.until <= now + 2 || m.erased) return;
    const { f } = r.h;
    const receipt = await mined(() =>
      f.consent.connect(f.patient).grant(f.twinId, who, NARROWED, Action.READ, Purpose.TREATMENT, 0, grant.until),
    );
    expect(receipt, "narrowing a live grant is mined").to.not.equal(undefined);
    grant.categories = NARROWED;
  }
  toString = () => `narrow(${this.reader})`;
}

class RevokeCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly reader: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const who = r.readers[this.reader].address;
    const { f } = r.h;
    const receipt = await mined(() => f.consent.connect(f.patient).revoke(f.twinId, who));
    const grant = m.grants.get(who);
    if (receipt && grant) grant.revoked = true;
  }
  toString = () => `revoke(${this.reader})`;
}

class ElapseCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly seconds: number) {}
  check = () => true;
  async run() {
    await time.increase(this.seconds);
  }
  toString = () => `elapse(${this.seconds}s)`;
}

class EmergencyOpenCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly duration: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { f } = r.h;
    const reason = emergencyReasonCommitment("model test: unconscious patient").commitment;
    const receipt = await mined(() =>
      f.consent.connect(f.responder).openEmergencyAccess(f.twinId, this.duration, reason),
    );
    if (m.erased) expect(receipt, "no emergency access to an erased twin").to.equal(undefined);
    for (const log of receipt?.logs ?? []) {
      const parsed = f.consent.interface.parseLog(log);
      if (parsed?.name === "EmergencyAccessOpened") m.emergencyUntil = Number(parsed.args.until);
    }
  }
  toString = () => `emergencyOpen(${this.duration}s)`;
}

class EmergencyCloseCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    const { f } = r.h;
    const receipt = await mined(() => f.consent.connect(f.patient).closeEmergencyAccess(f.twinId, f.responder.address));
    if (receipt) m.emergencyUntil = 0;
  }
  toString = () => "emergencyClose";
}

class EraseCommand implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => !m.erased;
  async run(m: Model, r: Real) {
    const { f } = r.h;
    const receipt = await mined(() => f.registry.connect(f.patient).eraseTwin(f.twinId));
    expect(receipt, "the patient erases a live twin").to.not.equal(undefined);
    f.data.holdings.set(f.twinId.toLowerCase(), "erased");
    m.erased = true;
  }
  toString = () => "erase";
}

/** Who queries: readers 0..2 with TREATMENT, or (index 3) the responder with EMERGENCY. */
class QueryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly reader: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { h } = r;
    const emergency = this.reader === r.readers.length;
    const signer = emergency ? h.f.responder : r.readers[this.reader];
    const purpose = emergency ? Purpose.EMERGENCY : Purpose.TREATMENT;
    const client = h.client(signer);
    const body = await client.signQuery(h.f.twinId, "latest-vitals", {}, { purpose, category: CATEGORY });
    const now = await time.latest();
    const result = await client.post(body);
    m.lastBody = body;
    m.answers.push(result.status);

    let expected: { status: number; errors: string[] };
    if (m.erased) {
      expected = { status: 410, errors: ["erased"] };
    } else if (emergency) {
      expected =
        now < m.emergencyUntil ? { status: 200, errors: [] } : { status: 403, errors: ["no-consent", "expired"] };
    } else {
      const grant = m.grants.get(signer.address);
      if (grant === undefined) expected = { status: 403, errors: ["no-consent"] };
      else if (grant.revoked) expected = { status: 403, errors: ["revoked"] };
      else if (!(now < grant.until)) expected = { status: 403, errors: ["expired"] };
      else if ((grant.categories & CATEGORY) !== CATEGORY) expected = { status: 403, errors: ["category-not-granted"] };
      else expected = { status: 200, errors: [] };
    }
    expect(result.status, `${this} at ${now}: ${JSON.stringify(result.ok ? "ok" : result.body.error)}`).to.equal(
      expected.status,
    );
    if (!result.ok) expect(expected.errors).to.include(result.body.error);
  }
  toString = () => `query(${this.reader})`;
}

class ReplayCommand implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.lastBody !== undefined;
  async run(m: Model, r: Real) {
    const result = await r.h.client(r.h.f.stranger).post(m.lastBody);
    m.answers.push(result.status);
    expect(result.status, "a replayed body").to.equal(409);
    if (!result.ok) expect(result.body.error).to.equal("replayed");
  }
  toString = () => "replay";
}

describe("service/gateway: model-based test (grant, narrow, revoke, expiry, emergency, erasure, query, replay)", function () {
  this.timeout(120_000);

  /** A fresh harness with the emergency policy set, and the model of its start. */
  async function start(): Promise<{ h: GatewayHarness; setup: () => { model: Model; real: Real } }> {
    const h = await GatewayHarness.start();
    const { f } = h;
    // loadFixture hands back the same FakeTwinData each run: an earlier run's erasure is undone here.
    f.data.holdings.set(f.twinId.toLowerCase(), "active");
    await (await f.consent.connect(f.patient).setEmergencyPolicy(f.twinId, true, 12 * 3600, GRANTED)).wait();
    const real: Real = { h, readers: [f.clinician, f.researcher, f.stranger] };
    return { h, setup: () => ({ model: { grants: new Map(), emergencyUntil: 0, erased: false, answers: [] }, real }) };
  }

  it("a fixed story through every case agrees with the model (200, each refusal, 409, 410)", async () => {
    const { h, setup } = await start();
    let model: Model | undefined;
    const keep = () => {
      const started = setup();
      model = started.model;
      return started;
    };
    try {
      await fc.asyncModelRun(keep, [
        new QueryCommand(0), // no grant: 403 no-consent
        new GrantCommand(0, 7200),
        new QueryCommand(0), // 200
        new NarrowCommand(0),
        new QueryCommand(0), // 403 category-not-granted
        new GrantCommand(0, 7200),
        new RevokeCommand(0),
        new QueryCommand(0), // 403 revoked
        new GrantCommand(1, 1800),
        new QueryCommand(1), // 200
        new ElapseCommand(3600),
        new QueryCommand(1), // 403 expired
        new EmergencyOpenCommand(1800),
        new QueryCommand(3), // 200 (responder)
        new EmergencyCloseCommand(),
        new QueryCommand(3), // 403
        new ReplayCommand(), // 409
        new EraseCommand(),
        new QueryCommand(1), // 410
      ]);
    } finally {
      await h.close();
      // loadFixture hands the same FakeTwinData to the next suite: leave the twin held as active.
      h.f.data.holdings.set(h.f.twinId.toLowerCase(), "active");
    }
    expect(model?.answers).to.deep.equal([403, 200, 403, 403, 200, 403, 200, 403, 409, 410]);
  });

  it("every answer agrees with the model of who may read what (20 runs of up to 15 commands)", async () => {
    const reader = fc.integer({ min: 0, max: 2 });
    const commands = [
      fc.tuple(reader, fc.constantFrom(1800, 7200, 172_800)).map(([i, d]) => new GrantCommand(i, d)),
      reader.map((i) => new NarrowCommand(i)),
      reader.map((i) => new RevokeCommand(i)),
      fc.constantFrom(600, 3600, 86_400).map((s) => new ElapseCommand(s)),
      fc.constantFrom(1800, 4 * 3600).map((d) => new EmergencyOpenCommand(d)),
      fc.constant(new EmergencyCloseCommand()),
      fc.constant(new EraseCommand()),
      fc.integer({ min: 0, max: 3 }).map((i) => new QueryCommand(i)),
      fc.integer({ min: 0, max: 3 }).map((i) => new QueryCommand(i)),
      fc.constant(new ReplayCommand()),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 15 }), async (cmds) => {
        const { h, setup } = await start();
        try {
          await fc.asyncModelRun(setup, cmds);
        } finally {
          await h.close();
          // loadFixture hands the same FakeTwinData to the next suite: leave the twin held as active.
          h.f.data.holdings.set(h.f.twinId.toLowerCase(), "active");
        }
      }),
      { numRuns: 20 },
    );
  });
});
