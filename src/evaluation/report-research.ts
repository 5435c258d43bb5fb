import type { PredictiveResult } from "./predictive";
import type { ResearchBenchmarkResult } from "./research";
import type { TargetVerdict } from "./types";

/** Issue 15's target: a cohort query over 1,000 enrolled twins in at most 200 ms (each aggregate's median). */
export function researchTarget(result: ResearchBenchmarkResult | undefined): TargetVerdict {
  const worst = result ? Math.max(...result.timings.map((t) => t.medianMs)) : NaN;
  return {
    id: "research-cohort-1000",
    target: "a cohort query over 1,000 enrolled twins answers in ≤ 200 ms (issue 15)",
    measured: result
      ? result.timings.map((t) => `${t.aggregate} ${t.medianMs.toFixed(1)} ms`).join(", ") +
        ` (medians; load average ${result.loadAverage.toFixed(1)})`
      : "not measured",
    verdict: result ? (worst <= result.targetMs ? "met" : "missed") : "not measured",
  };
}

/** The report's blocks for part 8 (issue 15): cohort queries at size. */
export function renderResearch(
  result: ResearchBenchmarkResult | undefined,
  table: (h: string[], rows: string[][]) => string,
): string[] {
  if (!result) return [];
  return [
    "## 8. Research: cohort queries over enrolled twins (issue 15)",
    `A cohort query over ${result.twins.toLocaleString("en-US")} enrolled twins (synthetic, in memory; ` +
      `${result.readingsPerTwin} readings each): the enrolment filter, each twin's value, the k and ε checks, the ` +
      "Laplace noise (or the exponential mechanism for quantiles) and the contributors' Merkle root, timed whole; the " +
      `chain's reads and the spendBudget transaction are not. Target: at most ${result.targetMs} ms (median). Load ` +
      `average while it ran: ${result.loadAverage.toFixed(1)}.`,
    table(
      ["aggregate", "median ms", "max ms"],
      result.timings.map((t) => [t.aggregate, t.medianMs.toFixed(1), t.maxMs.toFixed(1)]),
    ),
  ];
}

/** Issue 15's target: NEWS2 and a 6-hour forecast for one twin in at most 5 ms (p95). */
export function predictiveTarget(result: PredictiveResult | undefined): TargetVerdict {
  return {
    id: "predictive-5ms",
    target: "NEWS2 and a 6-hour forecast for one twin in ≤ 5 ms (issue 15)",
    measured: result
      ? `p50 ${result.timing.p50.toFixed(2)} ms, p95 ${result.timing.p95.toFixed(2)} ms (${result.timing.count} runs)`
      : "not measured",
    verdict: result ? (result.timing.p95 <= 5 ? "met" : "missed") : "not measured",
  };
}
