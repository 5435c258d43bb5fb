import { judgeFhirAtSize } from "./report-fhir";
import type {
  ConcurrencyRun,
  FhirAtSize,
  FunctionGas,
  NetworkPart,
  StoragePart,
  TargetVerdict,
  TimingPart,
} from "./types";
import { capacityVerdict } from "./gateway-capacity";

export { judgeFhirAtSize };

const f1 = (x: number) => x.toFixed(1);
/** Records per bundle in part 1's workload (gas.ts BUNDLE_RECORDS; not imported, to keep this module pure). */
const BUNDLE = 22;
const f2 = (x: number) => x.toFixed(2);
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a");

/**
 * The issues' targets and this run's verdicts. A missed target is reported with its figure, never tuned. `functions`
 * (part 1) adds the first-time record batches (a twin's first anchor, its log-head slot written new) to the bundles
 * part 2 measured on the typical path.
 */
export function judgeTargets(
  storage: StoragePart,
  timing: TimingPart,
  network: NetworkPart,
  functions: readonly FunctionGas[] = [],
  fhir?: FhirAtSize,
): TargetVerdict[] {
  const out: TargetVerdict[] = [];

  const ratio = storage.ratios.allOnChainOverMerkle1000;
  out.push({
    id: "merkle-vs-on-chain",
    target: "Merkle batch anchoring ≥ 300× cheaper per reading than all on chain, at 1,000 readings",
    measured: `${int(ratio)}× (${int(
      storage.designs.find((d) => d.id === "all-on-chain")?.gasPer1000Readings ?? NaN,
    )} vs ${int(storage.designs.find((d) => d.id === "merkle-batches")?.gasPer1000Readings ?? NaN)} gas per 1,000 readings)`,
    verdict: Number.isFinite(ratio) ? (ratio >= 300 ? "met" : "missed") : "not measured",
  });

  const curve = storage.recordCurve;
  const firstTime = functions.find((f) => f.contract === "TwinUpdateLog" && f.method === "anchorRecords");
  const typical = [...curve.map((p) => p.anchorRecordsGas), ...storage.cohortBundleGas];
  const bundles = [...typical, ...(firstTime ? [firstTime.max] : [])];
  const worst = bundles.length > 0 ? Math.max(...bundles) : NaN;
  const b22 = curve.find((p) => p.records === 22);
  out.push({
    id: "emr-bundle-120k",
    target: "any EMR bundle anchored in ≤ 120,000 gas (one anchorRecords per ingest; issue 9)",
    measured:
      bundles.length > 0
        ? `at most ${int(worst)} gas` +
          (firstTime
            ? ` (a twin's first anchor, its log head written new: ${int(firstTime.max)} for ${BUNDLE} records; ` +
              `typical path at most ${int(typical.length > 0 ? Math.max(...typical) : NaN)})`
            : "") +
          ` over bundles of ${int(Math.min(...curve.map((p) => p.records)))} to ` +
          `${int(Math.max(...curve.map((p) => p.records)))} records and the cohort's ${storage.cohortBundleGas.length}` +
          (b22
            ? `; 22 records: ${int(b22.anchorRecordsGas)} vs ${int(b22.recordUpdatesGas)} as 22 recordUpdates (${f1(b22.ratio)}× less)`
            : "")
        : "not measured",
    verdict: Number.isFinite(worst) ? (worst <= 120_000 ? "met" : "missed") : "not measured",
  });

  const e2e = network.gateway.runs.find((r) => r.concurrency === 10);
  const capacity = network.gateway.capacity?.find((r) => r.concurrency === 10);
  const gwTarget =
    "gateway at concurrency 10: p50 ≤ 20 ms, p99 ≤ 100 ms, ≥ 300 allowed queries/s, consent checked against the chain head for every query";
  const judge = (run: ConcurrencyRun, s: { p50: number; p99: number }) =>
    s.p50 <= 20 && s.p99 <= 100 && run.throughputPerSecond >= 300 && run.errors === 0 && run.verified === run.allowed
      ? "met"
      : "missed";
  const counts = (run: ConcurrencyRun) =>
    `${run.allowed} allowed, ${run.verified} with every proof verified, ${run.denied} denied, ${run.errors} errors of ${run.requests}`;
  if (!network.gateway.measured || !capacity) {
    out.push({
      id: "gateway-c10",
      target: gwTarget,
      measured: `not measured: ${network.gateway.reason || network.error || "no run at concurrency 10"}`,
      verdict: "not measured",
    });
  } else {
    out.push({
      id: "gateway-c10",
      target: `${gwTarget} — the gateway over HTTP under load (queries signed before the clock starts, proofs checked after it stops)`,
      measured: `p50 ${f2(capacity.ms.p50)} ms, p99 ${f2(capacity.ms.p99)} ms, ${f1(capacity.throughputPerSecond)} allowed queries/s (${counts(capacity)})`,
      verdict: judge(capacity, capacity.ms),
    });
  }
  if (network.gateway.measured && e2e) {
    out.push({
      id: "gateway-c10-end-to-end",
      target: `the same figures end to end, each reader signing and checking every proof as it goes (its signing and checks share the 2 cores)`,
      measured: `p50 ${f2(e2e.ms.p50)} ms, p99 ${f2(e2e.ms.p99)} ms, ${f1(e2e.throughputPerSecond)} allowed queries/s (${counts(e2e)}); its HTTP round trip p50 ${f2(e2e.gatewayMs.p50)} ms`,
      verdict: judge(e2e, e2e.ms),
    });
  }

  out.push(capacityVerdict(network.gateway.autocannon));

  const seal = timing.offChain.find((t) => t.id === "seal");
  out.push({
    id: "seal-1ms",
    target: "encrypt a record + wrap its key for one reader ≤ 1 ms",
    measured: seal
      ? `mean ${f2(seal.ms.mean)} ms, p50 ${f2(seal.ms.p50)} ms, p95 ${f2(seal.ms.p95)} ms (${seal.ms.count} runs; judged on the mean)`
      : "not measured",
    verdict: seal ? (seal.ms.mean <= 1 ? "met" : "missed") : "not measured",
  });

  const x = network.intervalExperiment;
  const paperSettings = x !== null && x.requests === 200 && x.blockSeconds === 12;
  out.push({
    id: "paper-200",
    target:
      "the paper's 200-request experiment ≥ 10× faster end to end at the same 12 s block time, every request still checked",
    measured: x
      ? `${x.requests} requests in ${f1(x.endToEndSeconds)} s with ${x.blockSeconds}-s blocks (${f2(x.perRequestSeconds)} s a request), ` +
        `${x.checked}/${x.requests} checked on chain: ${f1(x.speedupOverPaper)}× the paper's pace` +
        (paperSettings ? "" : " (quick mode: not the paper's settings, indicative only)")
      : `not measured${network.error ? `: ${network.error}` : ""}`,
    verdict:
      x && paperSettings ? (x.speedupOverPaper >= 10 && x.checked === x.requests ? "met" : "missed") : "not measured",
  });
  if (fhir) out.push(judgeFhirAtSize(fhir));
  return out;
}
