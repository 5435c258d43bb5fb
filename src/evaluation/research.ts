import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import type { VitalReading } from "../fhir/records";
import { id } from "ethers";
import {
  Aggregate,
  answerCohortQuery,
  seededRandom,
  type CohortQuery,
  type CohortTwin,
  type StudyTerms,
} from "../research";
import { DataCategory } from "../vocabulary";

/**
 * Issue 15's benchmark: a cohort query over 1,000 enrolled twins (synthetic, in memory) answers in at most 200 ms.
 * Each twin holds a day of vitals (heart rate every 15 minutes, SpO2 hourly) and a few coded conditions; the timed
 * part is the whole answer (enrolment filter, per-twin values, k and ε checks, noise, the contributor Merkle root).
 * Chain calls (`isEnrolledAt`, `spendBudget`) are not timed: they are one read per twin and one transaction.
 * The integrator wires `runResearchBenchmark` into `npm run evaluate`; `printResearchBenchmark` prints it alone.
 */

export const RESEARCH_TARGET_MS = 200;

export interface ResearchBenchmarkResult {
  readonly twins: number;
  readonly readingsPerTwin: number;
  /** Per aggregate: the median and the worst of the timed runs, ms. */
  readonly timings: readonly { readonly aggregate: string; readonly medianMs: number; readonly maxMs: number }[];
  readonly targetMs: number;
  readonly withinTarget: boolean;
  /** The machine's 1-minute load average when it ran (other work inflates the timings). */
  readonly loadAverage: number;
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const HYPERTENSION = "http://snomed.info/sct|38341003";

/** `count` synthetic twins, deterministic from `seed`. */
export function syntheticCohort(count: number, seed = 1): CohortTwin[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const base = 55 + random() * 40;
    const vitals: VitalReading[] = [];
    for (let m = 0; m < 24 * 4; m += 1) {
      const at = T0 + m * 15 * 60_000;
      vitals.push({ sign: "heartRate", value: base + random() * 10 - 5, unit: "/min", at, source: `watch-${i}` });
      if (m % 4 === 0) vitals.push({ sign: "oxygenSaturation", value: 94 + random() * 5, unit: "%", at });
    }
    return {
      twinId: id(`synthetic twin ${i}`),
      stateRoot: id(`synthetic state ${i}`),
      vitals,
      conditions: random() < 0.3 ? [{ code: HYPERTENSION, at: T0 - 100 * HOUR }] : [],
      medications: [],
    };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function runResearchBenchmark(options: { readonly twins?: number; readonly runs?: number } = {}) {
  const count = options.twins ?? 1000;
  const runs = options.runs ?? 15;
  const twins = syntheticCohort(count);
  const enrolled = new Set(twins.map((t) => t.twinId));
  const study: StudyTerms = {
    minCohort: 10,
    aggregates: Aggregate.count | Aggregate.mean | Aggregate.quantile | Aggregate.histogram,
    categories: DataCategory.VITALS | DataCategory.CONDITIONS,
    remainingMilli: Number.MAX_SAFE_INTEGER,
  };
  const window = { from: T0, to: T0 + 24 * HOUR };
  const heartRate = { kind: "vital", sign: "heartRate", bounds: [30, 200] } as const;
  const queries: CohortQuery[] = [
    { aggregate: "count", subject: { kind: "condition", code: HYPERTENSION }, window, epsilonMilli: 100 },
    { aggregate: "mean", subject: heartRate, window, epsilonMilli: 100 },
    { aggregate: "quantile", subject: heartRate, window, epsilonMilli: 100, q: 0.9 },
    { aggregate: "histogram", subject: heartRate, window, epsilonMilli: 100, bins: 17 },
  ];
  const options2 = { isEnrolled: (twinId: string) => enrolled.has(twinId), random: seededRandom(2) };
  answerCohortQuery(twins, queries[1], study, options2); // warm-up
  const timings = queries.map((query) => {
    const ms: number[] = [];
    for (let r = 0; r < runs; r += 1) {
      const start = performance.now();
      answerCohortQuery(twins, query, study, options2);
      ms.push(performance.now() - start);
    }
    return { aggregate: query.aggregate, medianMs: median(ms), maxMs: Math.max(...ms) };
  });
  const result: ResearchBenchmarkResult = {
    twins: count,
    readingsPerTwin: twins[0].vitals.length,
    timings,
    targetMs: RESEARCH_TARGET_MS,
    withinTarget: timings.every((t) => t.medianMs <= RESEARCH_TARGET_MS),
    loadAverage: loadavg()[0],
  };
  return result;
}

/** Prints the benchmark as a small table. */
export function printResearchBenchmark(result: ResearchBenchmarkResult = runResearchBenchmark()): void {
  console.log(
    `Cohort query over ${result.twins} enrolled twins (${result.readingsPerTwin} readings each), target ≤ ${result.targetMs} ms`,
  );
  for (const t of result.timings) {
    console.log(`  ${t.aggregate.padEnd(10)} median ${t.medianMs.toFixed(1)} ms, max ${t.maxMs.toFixed(1)} ms`);
  }
  console.log(
    `  ${result.withinTarget ? "within target" : "OVER TARGET"} (load average ${result.loadAverage.toFixed(1)})`,
  );
}

if (require.main === module) printResearchBenchmark();
