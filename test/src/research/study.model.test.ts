import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deployResearch } from "../../../src/chain/deploy-research";
import type { StudyRegistry } from "../../../typechain-types";
import {
  Aggregate,
  answerCohortQuery,
  enrolledAt,
  recordAnswer,
  ResearchError,
  seededRandom,
  studyTermsOf,
  type CohortTwin,
} from "../../../src/research";
import { DataCategory, Purpose } from "../../../src/vocabulary";
import { createTwinOf, deployFixture } from "../../fixtures";

/*
 * Model-based test (fast-check commands): random sequences of enrolments, withdrawals, mined blocks and cohort
 * queries against StudyRegistry and the research module, checked after each step against a model of who is
 * enrolled at which block and how much ε is left. A query is computed at the latest mined block, over the twins the
 * chain says were enrolled then, refused below k or past the budget, and otherwise recorded on chain.
 */

const TWINS = 6;
const K = 3;
const BUDGET = 2000;

interface Model {
  /** Per twin: the enrolment interval [enrolledAt, withdrawnAt) in blocks; withdrawnAt null while enrolled. */
  readonly enrolments: Map<number, { enrolledAt: number; withdrawnAt: number | null }>;
  remaining: number;
}

interface Real {
  readonly studies: StudyRegistry;
  readonly owners: HardhatEthersSigner[];
  readonly twins: CohortTwin[];
  readonly operator: HardhatEthersSigner;
}

async function studyModelFixture() {
  const f = await deployFixture();
  const signers = await ethers.getSigners();
  const owners = signers.slice(12, 12 + TWINS);
  const twins: CohortTwin[] = [];
  for (const [i, owner] of owners.entries()) {
    const twinId = await createTwinOf(f.registry, owner, `twin:model:${i}`, f.hospital);
    twins.push({
      twinId,
      stateRoot: ethers.id(`state ${i}`),
      vitals: [{ sign: "heartRate", value: 60 + i, unit: "/min", at: 1_000 }],
      conditions: [],
      medications: [],
    });
  }
  const { studies } = await deployResearch({
    deployer: f.admin,
    registry: await f.registry.getAddress(),
    ethicsBoard: [f.governance.address],
    operators: [f.hospital.address],
  });
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  await studies.connect(f.researcher).registerStudy({
    purpose: Purpose.RESEARCH,
    categories: DataCategory.VITALS,
    aggregates: Aggregate.count | Aggregate.mean,
    minCohort: K,
    budget: BUDGET,
    windowStart: now,
    windowEnd: now + 365 * 24 * 3600,
    protocolCommitment: ethers.id("protocol"),
  });
  await studies.connect(f.governance).reviewStudy(1, true);
  return { studies: studies.connect(f.hospital), owners, twins, operator: f.hospital };
}

const latest = () => ethers.provider.getBlockNumber();

function enrolledInModel(model: Model, i: number, block: number): boolean {
  const e = model.enrolments.get(i);
  return e !== undefined && e.enrolledAt <= block && (e.withdrawnAt === null || block < e.withdrawnAt);
}

class EnrolCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly twin: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const call = real.studies.connect(real.owners[this.twin]).enrol(1, real.twins[this.twin].twinId);
    if (model.enrolments.has(this.twin)) {
      await expect(call).to.be.revertedWithCustomError(real.studies, "AlreadyEnrolled");
      return;
    }
    const receipt = await (await call).wait();
    model.enrolments.set(this.twin, { enrolledAt: receipt!.blockNumber, withdrawnAt: null });
  }
  toString = () => `enrol(${this.twin})`;
}

class WithdrawCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly twin: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const call = real.studies.connect(real.owners[this.twin]).withdraw(1, real.twins[this.twin].twinId);
    const e = model.enrolments.get(this.twin);
    if (e === undefined || e.withdrawnAt !== null) {
      await expect(call).to.be.revertedWithCustomError(real.studies, "NotEnrolled");
      return;
    }
    const receipt = await (await call).wait();
    e.withdrawnAt = receipt!.blockNumber;
    // effective in the block of the withdrawal: a query asked at it (or the next) leaves the twin out
    expect(await real.studies.isEnrolledAt(1, real.twins[this.twin].twinId, e.withdrawnAt)).to.equal(false);
    expect(await real.studies.isEnrolledAt(1, real.twins[this.twin].twinId, e.withdrawnAt - 1)).to.equal(true);
  }
  toString = () => `withdraw(${this.twin})`;
}

class MineCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(): Promise<void> {
    await mine(1);
  }
  toString = () => "mine";
}

class QueryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly epsilonMilli: number,
    readonly pastBlocks: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const atBlock = Math.max(0, (await latest()) - this.pastBlocks);
    const ids = real.twins.map((t) => t.twinId);
    const onChain = await enrolledAt(real.studies, 1n, ids, atBlock);
    const expected = new Set(ids.filter((_, i) => enrolledInModel(model, i, atBlock)));
    expect([...onChain].sort()).to.deep.equal([...expected].sort());
    const terms = await studyTermsOf(real.studies, 1n);
    expect(terms.remainingMilli).to.equal(model.remaining);
    const q = {
      aggregate: "count" as const,
      subject: { kind: "vital", sign: "heartRate", bounds: [0, 250] } as const,
      window: { from: 0, to: 10_000 },
      epsilonMilli: this.epsilonMilli,
    };
    const ask = () =>
      answerCohortQuery(real.twins, q, terms, { isEnrolled: (id) => onChain.has(id), random: seededRandom(atBlock) });
    if (expected.size < K || this.epsilonMilli > model.remaining) {
      const code = expected.size < K ? "RESEARCH_COHORT_TOO_SMALL" : "RESEARCH_BUDGET_EXHAUSTED";
      expect(ask).to.throw(ResearchError).with.property("code", code);
      return;
    }
    const answer = ask();
    expect(answer.contributors.length).to.equal(expected.size);
    await recordAnswer(real.studies, 1n, answer, atBlock);
    model.remaining -= this.epsilonMilli;
  }
  toString = () => `query(${this.epsilonMilli} milli-ε, ${this.pastBlocks} blocks back)`;
}

const twin = fc.integer({ min: 0, max: TWINS - 1 });
const commands = fc.commands(
  [
    twin.map((i) => new EnrolCommand(i)),
    twin.map((i) => new WithdrawCommand(i)),
    fc.constant(new MineCommand()),
    fc
      .tuple(fc.integer({ min: 1, max: 900 }), fc.integer({ min: 1, max: 3 }))
      .map(([e, back]) => new QueryCommand(e, back)),
  ],
  { maxCommands: 20 },
);

describe("research: enrolment, withdrawal and queries against a model", function () {
  it("agrees with the model on every sequence", async function () {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const real = await loadFixture(studyModelFixture);
        const model: Model = { enrolments: new Map(), remaining: BUDGET };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
      }),
      { numRuns: 25, seed: 15 },
    );
  });
});
