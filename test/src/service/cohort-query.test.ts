import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { AccessLogEntry } from "../../../src/service/access-log";
import type { CohortQueryResponse, ErrorResponse } from "../../../src/service";
import { DataCategory, Purpose } from "../../../src/vocabulary";
import {
  BUDGET,
  cohortFixture,
  ENROLLED,
  HYPERTENSION,
  meanHeartRate,
  meanSpO2,
  type CohortFixture,
} from "./cohort-harness";
import { GatewayHarness } from "./harness";

/**
 * `POST /v1/cohort-query` (src/service/routes/research.ts): a study sponsor's signed cohort query over the twins
 * enrolled at the block asked, refused below k, past the budget, for anyone but the sponsor and for a study not open;
 * an answer spends its ε on chain and is appended to each contributor's access log, a refusal changes nothing.
 */
describe("query gateway: cohort queries of a consented study", function () {
  let f: CohortFixture;
  let h: GatewayHarness;

  beforeEach(async () => {
    f = await loadFixture(cohortFixture);
    h = new GatewayHarness(f, {
      data: f.data,
      studies: f.studies.connect(f.hospital),
      devices: f.devices,
    });
    await h.open();
  });
  afterEach(async () => h.close());

  /** What a refusal must leave as it was: the study's ε and the access log. */
  async function snapshot() {
    return {
      remaining: await f.studies.remainingBudget(1),
      queries: (await f.studies.studyOf(1)).queries,
      entries: await h.gateway.accessLog.count(),
    };
  }

  async function contributionsOf(owner: HardhatEthersSigner, twinId: string): Promise<AccessLogEntry[]> {
    const log = await h.client(owner).accessLog(twinId);
    expect(log.ok).to.equal(true);
    if (!log.ok) return [];
    return log.body.entries.map((e) => e.entry).filter((e) => e.queryType.startsWith("cohort-"));
  }

  function refused(result: { ok: boolean; status: number; body: unknown }, status: number, error: string): void {
    expect(result.ok, JSON.stringify(result.body)).to.equal(false);
    expect(result.status).to.equal(status);
    expect((result.body as ErrorResponse).error).to.equal(error);
  }

  it("answers the sponsor over the enrolled twins, records ε and the contributors' root, tells each contributor's log", async () => {
    const sponsor = h.client(f.researcher);
    const result = await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate()));
    expect(result.ok, JSON.stringify(result.body)).to.equal(true);
    if (!result.ok) return;
    const answer: CohortQueryResponse = result.body;
    expect(answer).to.include({
      studyId: "1",
      sponsor: f.researcher.address,
      aggregate: "mean",
      category: DataCategory.VITALS,
      contributors: ENROLLED,
      epsilonSpentMilli: 1000,
      epsilonRemainingMilli: BUDGET - 1000,
      queryIndex: "0",
      setAside: 0,
    });
    expect(answer.value).to.be.within(40, 120);
    expect(answer.atBlock).to.be.below(answer.recordedInBlock);

    // On chain: the ε spent and the root, in the BudgetSpent event of the answer's transaction.
    expect(await f.studies.remainingBudget(1)).to.equal(BigInt(BUDGET - 1000));
    const [event] = await f.studies.queryFilter(f.studies.filters.BudgetSpent(1), answer.recordedInBlock);
    expect(event.transactionHash).to.equal(answer.transactionHash);
    expect(event.args.contributorsRoot).to.equal(answer.contributorsRoot);
    expect(event.args.contributors).to.equal(BigInt(ENROLLED));
    expect(event.args.atBlock).to.equal(BigInt(answer.atBlock));

    // Each contributor's log has one entry naming the study, its sponsor, the category and the request.
    for (let i = 0; i < ENROLLED; i += 1) {
      const entries = await contributionsOf(f.owners[i], f.twinIds[i]);
      expect(entries).to.have.length(1);
      expect(entries[0]).to.include({
        twinId: f.twinIds[i].toLowerCase(),
        reader: f.researcher.address,
        queryType: "cohort-mean:study-1",
        category: DataCategory.VITALS,
        purpose: Purpose.RESEARCH,
        decision: "contributed",
        status: 200,
        requestHash: answer.requestHash,
      });
    }
    // A twin not enrolled did not contribute.
    expect(await contributionsOf(f.owners[ENROLLED], f.twinIds[ENROLLED])).to.have.length(0);
  });

  it("lists the twin's study enrolments and withdrawals in its access log", async () => {
    const before = await h.client(f.owners[0]).accessLog(f.twinIds[0]);
    expect(before.ok).to.equal(true);
    if (!before.ok) return;
    expect(before.body.studies).to.have.length(1);
    expect(before.body.studies![0]).to.deep.include({
      studyId: "1",
      sponsor: f.researcher.address,
      purpose: Purpose.RESEARCH,
      status: "approved",
      withdrawn: null,
    });
    expect(before.body.studies![0].enrolled.by).to.equal(f.owners[0].address);
    expect(before.body.studies![0].enrolled.at).to.be.above(0);

    const tx = await f.studies.connect(f.owners[0]).withdraw(1, f.twinIds[0]);
    const block = (await tx.wait())!.blockNumber;
    const after = await h.client(f.owners[0]).accessLog(f.twinIds[0]);
    expect(after.ok).to.equal(true);
    if (!after.ok) return;
    expect(after.body.studies![0].withdrawn).to.include({ blockNumber: block, transactionHash: tx.hash });

    const never = await h.client(f.owners[ENROLLED]).accessLog(f.twinIds[ENROLLED]);
    expect(never.ok && never.body.studies).to.deep.equal([]);
  });

  it("refuses below k (422 cohort-too-small): no ε spent, no entry", async () => {
    const before = await snapshot();
    const sponsor = h.client(f.researcher);
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanSpO2)), 422, "cohort-too-small");
    expect(await snapshot()).to.deep.equal(before);
    expect(await contributionsOf(f.owners[0], f.twinIds[0])).to.have.length(0);
  });

  it("refuses once the budget is gone (409 budget-exhausted): no ε spent, no entry", async () => {
    const sponsor = h.client(f.researcher);
    const before = await snapshot();
    refused(
      await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate(BUDGET + 1))),
      409,
      "budget-exhausted",
    );
    expect(await snapshot()).to.deep.equal(before);

    const spent = await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate(2000)));
    expect(spent.ok, JSON.stringify(spent.body)).to.equal(true);
    const left = await snapshot();
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate(1000))), 409, "budget-exhausted");
    expect(await snapshot()).to.deep.equal(left);
    expect(await contributionsOf(f.owners[0], f.twinIds[0])).to.have.length(1);
  });

  it("refuses anyone but the study's sponsor (403 not-sponsor)", async () => {
    const before = await snapshot();
    const stranger = h.client(f.stranger);
    refused(await stranger.cohortQuery(await stranger.signCohortQuery(1, meanHeartRate())), 403, "not-sponsor");
    expect(await snapshot()).to.deep.equal(before);
  });

  it("refuses a study not approved (409 study-not-open) and an unknown one (404 unknown-study)", async () => {
    const before = await snapshot();
    const sponsor = h.client(f.researcher);
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(2, meanHeartRate())), 409, "study-not-open");
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(99, meanHeartRate())), 404, "unknown-study");
    // Asked at a block before the approval: the study was not open then.
    const approvedIn = (await f.studies.queryFilter(f.studies.filters.StudyReviewed(1)))[0].blockNumber;
    const early = await sponsor.signCohortQuery(1, meanHeartRate(), { atBlock: approvedIn - 1 });
    refused(await sponsor.cohortQuery(early), 409, "study-not-open");
    expect(await snapshot()).to.deep.equal(before);
  });

  it("refuses an aggregate or a category the study may not ask for (403), and a block not mined (400)", async () => {
    const before = await snapshot();
    const sponsor = h.client(f.researcher);
    const quantile = { ...meanHeartRate(), aggregate: "quantile" as const, q: 0.5 };
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(1, quantile)), 403, "aggregate-not-allowed");
    const medication = {
      ...meanHeartRate(),
      aggregate: "count" as const,
      subject: { kind: "medication" as const, code: "x|1" },
    };
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(1, medication)), 403, "category-not-allowed");
    const future = await sponsor.signCohortQuery(1, meanHeartRate(), { atBlock: 1_000_000 });
    refused(await sponsor.cohortQuery(future), 400, "invalid-block");
    expect(await snapshot()).to.deep.equal(before);
  });

  it("refuses a replayed request (409 replayed) and one whose params were changed after signing (400)", async () => {
    const sponsor = h.client(f.researcher);
    const body = await sponsor.signCohortQuery(1, meanHeartRate(500));
    expect((await sponsor.cohortQuery(body)).ok).to.equal(true);
    const after = await snapshot();
    refused(await sponsor.cohortQuery(body), 409, "replayed");
    const tampered = await sponsor.signCohortQuery(1, meanHeartRate(500));
    refused(await sponsor.cohortQuery({ ...tampered, params: meanHeartRate(100) }), 400, "params-mismatch");
    expect(await snapshot()).to.deep.equal(after);
  });

  it("counts a twin withdrawn in block N up to block N - 1 only", async () => {
    const sponsor = h.client(f.researcher);
    const tx = await f.studies.connect(f.owners[3]).withdraw(1, f.twinIds[3]);
    const withdrawnIn = (await tx.wait())!.blockNumber;
    await mine(1);
    const at = async (atBlock: number) => {
      const result = await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate(500), { atBlock }));
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      return result.ok ? result.body.contributors : -1;
    };
    expect(await at(withdrawnIn - 1)).to.equal(ENROLLED);
    expect(await at(withdrawnIn)).to.equal(ENROLLED - 1);
    expect(await at(withdrawnIn + 1)).to.equal(ENROLLED - 1);
    // Asked again at an earlier block, after the gateway has read the later ones (its enrolment index).
    expect(await at(withdrawnIn - 1)).to.equal(ENROLLED);
    expect(await contributionsOf(f.owners[3], f.twinIds[3])).to.have.length(2);
  });

  it("reads the enrolments again after a reorganization replaced a block it had read", async () => {
    const sponsor = h.client(f.researcher);
    const contributorsAt = async (atBlock: number) => {
      const result = await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate(100), { atBlock }));
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      return result.ok ? result.body.contributors : -1;
    };
    const snapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
    const tx = await f.studies.connect(f.owners[ENROLLED]).enrol(1, f.twinIds[ENROLLED]);
    const enrolledIn = (await tx.wait())!.blockNumber;
    expect(await contributorsAt(enrolledIn)).to.equal(ENROLLED + 1);
    // The enrolment's block is replaced by others (no enrolment in them): the gateway must not count the twin.
    await ethers.provider.send("evm_revert", [snapshot]);
    await mine(3);
    expect(await contributorsAt(enrolledIn)).to.equal(ENROLLED);
  });

  it("counts coded conditions, and sets aside the readings of a device flagged on chain", async () => {
    const sponsor = h.client(f.researcher);
    const count = await sponsor.cohortQuery(
      await sponsor.signCohortQuery(1, {
        aggregate: "count",
        subject: { kind: "condition", code: HYPERTENSION },
        window: { from: 0, to: Date.UTC(2027, 0, 1) },
        epsilonMilli: 500,
      }),
    );
    expect(count.ok, JSON.stringify(count.body)).to.equal(true);
    if (count.ok) expect(count.body).to.include({ contributors: ENROLLED, category: DataCategory.CONDITIONS });
    const entries = await contributionsOf(f.owners[1], f.twinIds[1]);
    expect(entries.map((e) => [e.queryType, e.category])).to.deep.equal([
      ["cohort-count:study-1", DataCategory.CONDITIONS],
    ]);

    await (await f.devices.connect(f.wearable).flagDevice(f.device, 1)).wait(); // Recall
    const mean = await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate(500)));
    expect(mean.ok, JSON.stringify(mean.body)).to.equal(true);
    // Twin 0's 24 readings all came from the recalled device: set aside, and twin 0 no longer contributes.
    if (mean.ok) expect(mean.body).to.include({ setAside: 24, contributors: ENROLLED - 1 });
  });

  it("is 503 research-unavailable on a gateway that serves no studies", async () => {
    await h.close();
    h = new GatewayHarness(f, { data: f.data });
    await h.open();
    const sponsor = h.client(f.researcher);
    refused(await sponsor.cohortQuery(await sponsor.signCohortQuery(1, meanHeartRate())), 503, "research-unavailable");
    const log = await h.client(f.owners[0]).accessLog(f.twinIds[0]);
    expect(log.ok && log.body).to.not.have.property("studies");
  });
});
