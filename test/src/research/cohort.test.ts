import { expect } from "chai";
import { ethers } from "ethers";
import type { VitalReading } from "../../../src/fhir/records";
import {
  Aggregate,
  answerCohortQuery,
  contributionEntries,
  ResearchError,
  seededRandom,
  verifyContributor,
  type CohortQuery,
  type CohortTwin,
  type StudyTerms,
} from "../../../src/research";
import type { AccessLogInput } from "../../../src/service/access-log";
import { DataCategory, Purpose } from "../../../src/vocabulary";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const DIABETES = "http://snomed.info/sct|44054006";
const METFORMIN = "http://www.nlm.nih.gov/research/umls/rxnorm|860975";

function twin(i: number, heartRate: number, options: { diabetic?: boolean; device?: string } = {}): CohortTwin {
  const vitals: VitalReading[] = [0, 1, 2].map((h) => ({
    sign: "heartRate",
    value: heartRate + h - 1,
    unit: "/min",
    at: T0 + h * HOUR,
    source: options.device ?? `watch-${i}`,
  }));
  return {
    twinId: ethers.id(`twin ${i}`),
    stateRoot: ethers.id(`state ${i}`),
    vitals,
    conditions: options.diabetic ? [{ code: DIABETES, at: T0 - HOUR }] : [],
    medications: options.diabetic ? [{ code: METFORMIN, at: null }] : [],
  };
}

const TWINS = Array.from({ length: 40 }, (_, i) => twin(i, 60 + i, { diabetic: i % 4 === 0 }));
const STUDY: StudyTerms = {
  minCohort: 5,
  aggregates: Aggregate.count | Aggregate.mean | Aggregate.quantile | Aggregate.histogram,
  categories: DataCategory.VITALS | DataCategory.CONDITIONS | DataCategory.MEDICATIONS,
  remainingMilli: 100_000,
};
const WINDOW = { from: T0, to: T0 + 24 * HOUR };
const HR = { kind: "vital", sign: "heartRate", bounds: [30, 200] } as const;
const all = { isEnrolled: () => true, random: seededRandom(11) };

function query(overrides: Partial<CohortQuery> = {}): CohortQuery {
  return { aggregate: "count", subject: HR, window: WINDOW, epsilonMilli: 50_000, ...overrides };
}

function expectCode(f: () => unknown, code: string) {
  expect(f).to.throw(ResearchError).with.property("code", code);
}

describe("research: cohort queries", function () {
  it("counts, means, quantiles and histograms a vital over the enrolled twins (large ε: near the truth)", function () {
    const count = answerCohortQuery(TWINS, query(), STUDY, all);
    expect(count.value).to.be.within(39, 41);
    expect(count.contributors).to.have.length(40);
    expect(count.noiseScale).to.equal(1 / 50);
    const mean = answerCohortQuery(TWINS, query({ aggregate: "mean" }), STUDY, all);
    expect(mean.value).to.be.closeTo(79.5, 1);
    const median = answerCohortQuery(TWINS, query({ aggregate: "quantile", q: 0.5 }), STUDY, all);
    expect(median.value).to.be.within(75, 85);
    const histogram = answerCohortQuery(TWINS, query({ aggregate: "histogram", bins: 17 }), STUDY, all);
    expect(histogram.bins).to.have.length(17);
    expect(histogram.bins![3]).to.deep.include({ from: 60, to: 70 });
    expect(histogram.bins![3].count).to.be.within(9, 11);
    expect(histogram.bins!.reduce((s, b) => s + b.count, 0)).to.be.within(37, 43);
  });

  it("counts and proportions coded conditions and medications", function () {
    const count = answerCohortQuery(TWINS, query({ subject: { kind: "condition", code: DIABETES } }), STUDY, all);
    expect(count.value).to.be.within(9, 11);
    expect(count.contributors).to.have.length(40);
    const share = answerCohortQuery(
      TWINS,
      query({ aggregate: "mean", subject: { kind: "medication", code: METFORMIN } }),
      STUDY,
      all,
    );
    expect(share.value).to.be.closeTo(0.25, 0.03);
    const before = answerCohortQuery(
      TWINS,
      query({ subject: { kind: "condition", code: DIABETES }, window: { from: T0 - 3 * HOUR, to: T0 - 2 * HOUR } }),
      STUDY,
      all,
    );
    expect(before.value).to.be.within(0, 1);
  });

  it("reads only enrolled twins, and refuses below k contributors without spending anything", function () {
    const enrolled = new Set(TWINS.slice(0, 5).map((t) => t.twinId));
    const options = { ...all, isEnrolled: (id: string) => enrolled.has(id) };
    const answer = answerCohortQuery(TWINS, query(), STUDY, options);
    expect(answer.contributors.map((c) => c.twinId)).to.deep.equal([...enrolled]);
    enrolled.delete(TWINS[0].twinId);
    expectCode(() => answerCohortQuery(TWINS, query(), STUDY, options), "RESEARCH_COHORT_TOO_SMALL");
    // twins without a reading in the window do not contribute
    const later = query({ window: { from: T0 + 2.5 * HOUR, to: T0 + 3 * HOUR } });
    expectCode(() => answerCohortQuery(TWINS, later, STUDY, all), "RESEARCH_COHORT_TOO_SMALL");
  });

  it("refuses a query asking more ε than the study has left", function () {
    const study = { ...STUDY, remainingMilli: 499 };
    expectCode(() => answerCohortQuery(TWINS, query({ epsilonMilli: 500 }), study, all), "RESEARCH_BUDGET_EXHAUSTED");
    expect(answerCohortQuery(TWINS, query({ epsilonMilli: 499 }), study, all).epsilonMilli).to.equal(499);
  });

  it("sets aside readings from flagged devices and says how many", function () {
    const twins = [...TWINS.slice(0, 10), twin(99, 190, { device: "recalled-1" })];
    const flagged = new Set(["recalled-1"]);
    const answer = answerCohortQuery(twins, query(), STUDY, { ...all, flaggedDevices: flagged });
    expect(answer.setAside).to.equal(3);
    expect(answer.contributors).to.have.length(10);
    expect(answer.contributors.map((c) => c.twinId)).to.not.include(ethers.id("twin 99"));
  });

  it("refuses malformed queries and aggregates or categories the study does not allow", function () {
    const bad: Partial<CohortQuery>[] = [
      { window: { from: T0, to: T0 } },
      { epsilonMilli: 0 },
      { epsilonMilli: 1.5 },
      { subject: { kind: "vital", sign: "heartRate", bounds: [10, 10] } },
      { subject: { kind: "vital", sign: "heartRate", bounds: [0, Infinity] } },
      { aggregate: "quantile" },
      { aggregate: "quantile", q: 1.5 },
      { aggregate: "histogram" },
      { aggregate: "histogram", bins: 101 },
      { aggregate: "histogram", bins: 10, subject: { kind: "condition", code: DIABETES } },
      { aggregate: "quantile", q: 0.5, subject: { kind: "medication", code: METFORMIN } },
    ];
    for (const overrides of bad) {
      expectCode(() => answerCohortQuery(TWINS, query(overrides), STUDY, all), "RESEARCH_INVALID_QUERY");
    }
    const countsOnVitals = { ...STUDY, aggregates: Aggregate.count, categories: DataCategory.VITALS };
    expectCode(
      () => answerCohortQuery(TWINS, query({ aggregate: "mean" }), countsOnVitals, all),
      "RESEARCH_INVALID_QUERY",
    );
    expectCode(
      () => answerCohortQuery(TWINS, query({ subject: { kind: "condition", code: DIABETES } }), countsOnVitals, all),
      "RESEARCH_INVALID_QUERY",
    );
  });

  it("commits the contributors as a Merkle root each twin can check its leaf against", function () {
    const answer = answerCohortQuery(TWINS, query(), STUDY, all);
    const [first] = answer.contributors;
    expect(verifyContributor(answer.commitment.root, first, answer.commitment.proofOf(first.twinId))).to.equal(true);
    const forged = { ...first, stateRoot: ethers.id("another state") };
    expect(verifyContributor(answer.commitment.root, forged, answer.commitment.proofOf(first.twinId))).to.equal(false);
    expect(answer.commitment.proofOf(ethers.id("not a contributor"))).to.deep.equal([]);
    const reversed = answerCohortQuery([...TWINS].reverse(), query(), STUDY, all);
    expect(reversed.commitment.root).to.equal(answer.commitment.root);
  });

  it("gives one access-log entry per contributor, shaped as the gateway's AccessLogInput", function () {
    const q = query({ subject: { kind: "condition", code: DIABETES } });
    const answer = answerCohortQuery(TWINS.slice(0, 6), q, STUDY, all);
    const sponsor = ethers.Wallet.createRandom().address;
    const entries: AccessLogInput[] = contributionEntries(answer, q, {
      time: T0,
      sponsor,
      requestHash: ethers.id("request"),
    });
    expect(entries).to.have.length(6);
    expect(entries[0]).to.deep.include({
      reader: sponsor,
      queryType: "cohort-count",
      category: DataCategory.CONDITIONS,
      purpose: Purpose.RESEARCH,
      decision: "contributed",
    });
  });
});
