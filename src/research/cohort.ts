import type { VitalReading, VitalSignName } from "../fhir/records";
import { DataCategory } from "../vocabulary";
import { commitContributors, type Contributor, type ContributorCommitment } from "./contributors";
import { ResearchError } from "./errors";
import { clamp, laplaceMechanism, laplaceScale } from "./laplace";
import { privateQuantile } from "./quantile";
import type { RandomSource } from "./random";

/**
 * Cohort queries over the twins enrolled in a study: counts, means, quantiles and histograms of a vital sign, and
 * counts and proportions of a coded condition or medication, over a window, each answer differentially private.
 *
 * Privacy unit: one twin. Each twin contributes one value at most (its mean reading of the sign in the window,
 * clamped to the query's declared bounds, or 1/0 for having the code), so adding or removing a twin moves a count by
 * 1 and a sum of clamped values centred on the bounds' midpoint by `(hi - lo) / 2`: the sensitivities the Laplace
 * noise is scaled by. Readings from flagged
 * devices are left out before anything else (and counted in `setAside`).
 *
 * Order of the checks: the query's shape, the study's allowed aggregates and categories, enrolment, then k (refused
 * below k contributors: nothing spent), then the budget (refused when ε exceeds what is left: nothing spent).
 */

/** Aggregate bits, as StudyRegistry's AGGREGATE_* constants. */
export const Aggregate = { count: 1, mean: 2, quantile: 4, histogram: 8 } as const;
export type AggregateName = keyof typeof Aggregate;

/** A coded entry of a twin: `system|code`, and when it was recorded (epoch ms; null when unknown). */
export interface CodedEntry {
  readonly code: string;
  readonly at: number | null;
}

/** What a cohort query reads of one twin (the twin engine's view of it at the block asked). */
export interface CohortTwin {
  readonly twinId: string;
  /** The twin's state root anchored at the block asked. */
  readonly stateRoot: string;
  readonly vitals: readonly VitalReading[];
  readonly conditions: readonly CodedEntry[];
  readonly medications: readonly CodedEntry[];
}

/** What is aggregated: a vital sign (clamped to declared bounds) or a coded condition or medication. */
export type CohortSubject =
  | { readonly kind: "vital"; readonly sign: VitalSignName; readonly bounds: readonly [number, number] }
  | { readonly kind: "condition" | "medication"; readonly code: string };

export interface CohortQuery {
  readonly aggregate: AggregateName;
  readonly subject: CohortSubject;
  /** [from, to) in epoch ms. Vitals: readings in it; codes: recorded before `to` (or undated). */
  readonly window: { readonly from: number; readonly to: number };
  /** ε to spend, in milli-ε (as on chain). */
  readonly epsilonMilli: number;
  /** For `quantile`: in [0, 1]. */
  readonly q?: number;
  /** For `histogram`: the number of equal bins over the bounds (1..100). */
  readonly bins?: number;
}

/** The study's terms the answer is held to (as `StudyRegistry.studyOf` gives them). */
export interface StudyTerms {
  readonly minCohort: number;
  /** Aggregate bits allowed. */
  readonly aggregates: number;
  /** DataCategory bits allowed. */
  readonly categories: number;
  /** milli-ε left. */
  readonly remainingMilli: number;
}

export interface CohortOptions {
  /** Whether the twin was enrolled at the block asked (`StudyRegistry.isEnrolledAt`). */
  readonly isEnrolled: (twinId: string) => boolean;
  /** Device ids (a reading's `source`) whose readings are set aside. */
  readonly flaggedDevices?: ReadonlySet<string>;
  readonly random: RandomSource;
}

export interface HistogramBin {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

export interface CohortAnswer {
  readonly aggregate: AggregateName;
  /** The noisy count, mean, proportion or quantile (absent for a histogram). */
  readonly value?: number;
  readonly bins?: readonly HistogramBin[];
  readonly epsilonMilli: number;
  /** The Laplace scale of the noise added (for a mean, of each of the two halves; 0 for a quantile). */
  readonly noiseScale: number;
  readonly contributors: readonly Contributor[];
  readonly commitment: ContributorCommitment;
  /** Readings left out because their device is flagged. */
  readonly setAside: number;
}

/** The data category a subject reads. */
export function categoryOf(subject: CohortSubject): number {
  if (subject.kind === "vital") return DataCategory.VITALS;
  return subject.kind === "condition" ? DataCategory.CONDITIONS : DataCategory.MEDICATIONS;
}

function invalid(message: string): never {
  throw new ResearchError("RESEARCH_INVALID_QUERY", message);
}

function checkQuery(query: CohortQuery, study: StudyTerms): void {
  const { window, subject, aggregate, epsilonMilli } = query;
  if (!(window.from < window.to)) invalid("the window must end after it starts");
  if (!Number.isInteger(epsilonMilli) || epsilonMilli <= 0) invalid("epsilonMilli must be a positive integer");
  if ((Aggregate[aggregate] & study.aggregates) === 0) invalid(`the study may not ask for a ${aggregate}`);
  if ((categoryOf(subject) & study.categories) === 0) invalid(`the study may not read ${subject.kind} data`);
  if (subject.kind === "vital") {
    const [lo, hi] = subject.bounds;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) invalid("bounds must be finite with lo < hi");
  } else if (aggregate === "quantile" || aggregate === "histogram") {
    invalid(`a ${aggregate} needs a vital sign`);
  }
  if (aggregate === "quantile" && !(query.q !== undefined && query.q >= 0 && query.q <= 1)) {
    invalid("q must be in [0, 1]");
  }
  const bins = query.bins ?? 0;
  if (aggregate === "histogram" && !(Number.isInteger(bins) && bins >= 1 && bins <= 100)) {
    invalid("bins must be an integer in 1..100");
  }
}

interface Values {
  readonly contributors: Contributor[];
  readonly values: number[];
  readonly setAside: number;
}

/** Each enrolled twin's one value, or none when it has no data for the subject in the window. */
function valuesOf(twins: readonly CohortTwin[], query: CohortQuery, options: CohortOptions): Values {
  const { subject, window } = query;
  const flagged = options.flaggedDevices;
  const contributors: Contributor[] = [];
  const values: number[] = [];
  let setAside = 0;
  for (const twin of twins) {
    if (!options.isEnrolled(twin.twinId)) continue;
    let value: number | null = null;
    if (subject.kind === "vital") {
      let sum = 0;
      let n = 0;
      for (const r of twin.vitals) {
        if (r.sign !== subject.sign || r.at < window.from || !(r.at < window.to)) continue;
        if (flagged !== undefined && r.source !== undefined && flagged.has(r.source)) {
          setAside += 1;
          continue;
        }
        sum += r.value;
        n += 1;
      }
      if (n > 0) value = clamp(sum / n, subject.bounds[0], subject.bounds[1]);
    } else {
      const entries = subject.kind === "condition" ? twin.conditions : twin.medications;
      const has = entries.some((e) => e.code === subject.code && (e.at === null || e.at < window.to));
      value = has ? 1 : 0;
    }
    if (value === null) continue;
    contributors.push({ twinId: twin.twinId, stateRoot: twin.stateRoot });
    values.push(value);
  }
  return { contributors, values, setAside };
}

function noisyCount(count: number, epsilon: number, random: RandomSource): number {
  return Math.max(0, Math.round(laplaceMechanism(count, 1, epsilon, random)));
}

/**
 * Answers one cohort query, or throws `RESEARCH_COHORT_TOO_SMALL` (below k), `RESEARCH_BUDGET_EXHAUSTED` (ε above
 * what is left) or `RESEARCH_INVALID_QUERY`. The caller then records the ε and `commitment.root` on chain
 * (`recordAnswer` in ./chain) and one access-log entry per contributor (`contributionEntries` in ./access).
 */
export function answerCohortQuery(
  twins: readonly CohortTwin[],
  query: CohortQuery,
  study: StudyTerms,
  options: CohortOptions,
): CohortAnswer {
  checkQuery(query, study);
  const { contributors, values, setAside } = valuesOf(twins, query, options);
  if (contributors.length < study.minCohort) {
    throw new ResearchError(
      "RESEARCH_COHORT_TOO_SMALL",
      `${contributors.length} contributors, fewer than the study's k = ${study.minCohort}`,
    );
  }
  if (query.epsilonMilli > study.remainingMilli) {
    throw new ResearchError(
      "RESEARCH_BUDGET_EXHAUSTED",
      `the query asks for ${query.epsilonMilli} milli-ε, the study has ${study.remainingMilli} left`,
    );
  }
  const epsilon = query.epsilonMilli / 1000;
  const { random } = options;
  const { subject, aggregate } = query;
  const base = { aggregate, epsilonMilli: query.epsilonMilli, contributors, setAside };
  const commitment = commitContributors(contributors);
  const total = values.reduce((a, b) => a + b, 0);
  if (subject.kind !== "vital") {
    // A count of twins with the code, or their proportion among the contributors (whose number is public on chain).
    const count = noisyCount(total, epsilon, random);
    const value = aggregate === "count" ? count : clamp(count / contributors.length, 0, 1);
    return { ...base, value, noiseScale: laplaceScale(1, epsilon), commitment };
  }
  const [lo, hi] = subject.bounds;
  switch (aggregate) {
    case "count":
      return { ...base, value: noisyCount(values.length, epsilon, random), noiseScale: 1 / epsilon, commitment };
    case "mean": {
      // The sum of values centred on the bounds' midpoint: one twin moves it by at most (hi - lo) / 2.
      const mid = (lo + hi) / 2;
      const sensitivity = (hi - lo) / 2;
      const sum = laplaceMechanism(total - mid * values.length, sensitivity, epsilon / 2, random);
      const count = Math.max(1, laplaceMechanism(values.length, 1, epsilon / 2, random));
      const value = clamp(mid + sum / count, lo, hi);
      return { ...base, value, noiseScale: sensitivity / (epsilon / 2), commitment };
    }
    case "quantile": {
      const value = privateQuantile(values, query.q ?? 0.5, lo, hi, epsilon, random);
      return { ...base, value, noiseScale: 0, commitment };
    }
    case "histogram": {
      const n = query.bins ?? 1;
      const width = (hi - lo) / n;
      const counts = new Array<number>(n).fill(0);
      for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / width))] += 1;
      // One twin is in one bin: adding or removing it moves the vector of counts by 1 in L1.
      const bins = counts.map((c, i) => ({
        from: lo + i * width,
        to: lo + (i + 1) * width,
        count: noisyCount(c, epsilon, random),
      }));
      return { ...base, bins, noiseScale: 1 / epsilon, commitment };
    }
  }
}
