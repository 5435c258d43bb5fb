import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { EvaluateArgs } from "./args";
import { setUpLedger, type InProcessChain } from "./chain";
import { buildCharts } from "./charts";
import { priceGas, resolvePriceSettings } from "./cost";
import { BUNDLE_RECORDS, measureGas, readGasReport } from "./gas";
import { FHIR_TARGET, measureFhirAtSize } from "./fhir-pipeline";
import { measureGateway } from "./gateway";
import { measureConfirmations, measureIntervalExperiment, measureRpcCall, setUpRpc } from "./network";
import { startLocalNode, type LocalNode } from "./node-process";
import { compareWithAnvil } from "./anvil-compare";
import { measurePaddingCost } from "./padding-cost";
import { runResearchBenchmark } from "./research";
import { measurePredictive } from "./predictive";
import { predictiveTarget, researchTarget } from "./report-research";
import { measureScaleOut, withProjection } from "./scale-out";
import { Progress } from "./progress";
import { REFERENCES } from "./references";
import { renderReport } from "./report";
import { batchSeries, measureScaling } from "./scaling";
import { logSteps } from "./stats";
import { RECORD_UPDATES_MEASURED_UP_TO, measureStorage } from "./storage";
import { judgeTargets } from "./targets";
import { measureOffChain } from "./timing";
import type { EvaluationResult, Mode, NetworkPart } from "./types";

/** How much each part does in each mode. */
export interface Plan {
  readonly gasRounds: number;
  readonly cohort: {
    readonly seed: number;
    readonly patients: number;
    readonly days: number;
    readonly intervalSeconds: number;
  };
  readonly onChainSample: number;
  readonly anchorSample: number;
  readonly batchSizes: readonly number[];
  /** EMR bundle sizes of the record-batch curve; always holds BUNDLE_RECORDS (the 22-record bundle). */
  readonly recordBatchSizes: readonly number[];
  readonly timing: {
    readonly runs: number;
    readonly warmup: number;
    readonly slowRuns: number;
    readonly slowWarmup: number;
  };
  readonly confirmations: number;
  readonly rpcCalls: number;
  readonly gatewayRequests: number;
  readonly gatewayTimeoutMs: number;
  readonly gatewayWarmup: number;
  /** Runs of the first query on a cold twin (a fresh pipeline and gateway each, issue 12). */
  readonly coldQueryRuns: number;
  readonly gatewayReadingInterval: number;
  readonly paperRequests: number;
  readonly paperBlockSeconds: number;
  readonly scalingSteps: readonly number[];
  readonly scalingViewRuns: number;
  /** Vital-sign Observations of the FHIR size benchmark (the target is judged at 20,000). */
  readonly fhirObservations: number;
  /** Concurrency of the gateway's rate-limiter run (limits off against on, never hit). */
  readonly rateLimitConcurrency: number;
  /** Pre-signed queries per concurrency level of the autocannon capacity run (issue 12). */
  readonly capacityRequests: number;
  /** Twins the gateway replica run's queries spread over (issue 12: 1,000), each registered and granted on chain. */
  readonly replicaTwins: number;
  /** Twins of the pipeline scale-out benchmark (issue 12), ingested `parallel` at a time within `timeoutMs`. */
  readonly scaleOut: { readonly twins: number; readonly parallel: number; readonly timeoutMs: number };
}

export const SEED = 20240101;

export function planFor(mode: Mode): Plan {
  const cohort = { seed: SEED, intervalSeconds: 60 };
  return mode === "quick"
    ? {
        gasRounds: 2,
        cohort: { ...cohort, patients: 2, days: 1 },
        onChainSample: 40,
        anchorSample: 60,
        batchSizes: logSteps(1, 10_000, false),
        recordBatchSizes: [1, 5, BUNDLE_RECORDS, 100, 1000],
        timing: { runs: 200, warmup: 20, slowRuns: 10, slowWarmup: 2 },
        confirmations: 20,
        rpcCalls: 200,
        gatewayRequests: 200,
        gatewayTimeoutMs: 6_000,
        gatewayWarmup: 5,
        coldQueryRuns: 2,
        gatewayReadingInterval: 3600,
        paperRequests: 20,
        paperBlockSeconds: 2,
        scalingSteps: logSteps(1, 1000, false),
        scalingViewRuns: 20,
        fhirObservations: 2_000,
        rateLimitConcurrency: 10,
        capacityRequests: 5_000,
        replicaTwins: 100,
        scaleOut: { twins: 3, parallel: 2, timeoutMs: 120_000 },
      }
    : {
        gasRounds: 10,
        cohort: { ...cohort, patients: 5, days: 2 },
        onChainSample: 200,
        anchorSample: 400,
        batchSizes: logSteps(1, 10_000, true),
        recordBatchSizes: [1, 2, 5, 10, BUNDLE_RECORDS, 50, 100, 200, 500, 1000],
        timing: { runs: 1000, warmup: 100, slowRuns: 50, slowWarmup: 5 },
        confirmations: 100,
        rpcCalls: 1000,
        gatewayRequests: 1000,
        gatewayTimeoutMs: 60_000,
        gatewayWarmup: 20,
        coldQueryRuns: 5,
        // the twin of issue 12's benchmark: an EMR bundle and a day of one-minute readings
        gatewayReadingInterval: 60,
        paperRequests: 200,
        paperBlockSeconds: 12,
        scalingSteps: logSteps(1, 10_000, true),
        scalingViewRuns: 50,
        fhirObservations: FHIR_TARGET.observations,
        rateLimitConcurrency: 10,
        capacityRequests: 15_000,
        replicaTwins: 1_000,
        // 8 at a time: an ingest waits on the node for part of its time (at 300 twins, 224 s with 4 at a time and
        // every state kept, 172 s with 8 and anvil's history pruned)
        scaleOut: { twins: 1000, parallel: 8, timeoutMs: 1_200_000 },
      };
}

/**
 * A shared FHIR sample: in `shared/fhir-samples/` next to the repository, or, in a git worktree inside a folder of
 * worktrees, next to that folder (the first that exists; the first candidate otherwise, for the error to name it).
 */
export function sharedSample(root: string, file: string): string {
  const candidates = [
    resolve(root, "..", "shared", "fhir-samples", file),
    resolve(root, "..", "..", "shared", "fhir-samples", file),
  ];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
}

/** JSON with NaN and infinities as null. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** Registers the cleanup of started nodes for signals; returns a function that unregisters it. */
export type NodeTracker = (node: LocalNode | null) => void;

/**
 * The whole evaluation: the five parts in order, then the report, the JSON and the charts under `args.outDir`.
 * `root` is the project folder (where `npx hardhat node` is started and src/service is looked for).
 */
export async function runEvaluation(
  hre: HardhatRuntimeEnvironment,
  args: EvaluateArgs,
  root: string,
  progress = new Progress(),
): Promise<EvaluationResult> {
  const started = performance.now();
  const plan = planFor(args.mode);
  const prices = resolvePriceSettings(args, process.env);
  const notes: string[] = [];
  const chain: InProcessChain = {
    signers: await hre.ethers.getSigners(),
    provider: hre.ethers.provider,
    send: (method, params) => hre.network.provider.send(method, params),
  };

  // Part 1
  const ledger = await setUpLedger(chain);
  let step = progress.step("1. execution cost (gas)", plan.gasRounds * 4);
  const { part: gasPart, meter } = await measureGas(chain, ledger, plan.gasRounds, () => step.tick());
  step.done();
  const report = readGasReport(resolve(root, "reports", "gas-report.json"));
  const gasReport = report ? { ...report, file: "reports/gas-report.json" } : null;

  // Part 2
  step = progress.step("2. storage cost", 8 + plan.batchSizes.length + plan.recordBatchSizes.length);
  const storage = await measureStorage(
    chain,
    ledger,
    {
      cohort: plan.cohort,
      onChainSample: plan.onChainSample,
      anchorSample: plan.anchorSample,
      batchSizes: plan.batchSizes,
      recordBatchSizes: plan.recordBatchSizes,
    },
    (what) => step.tick(what),
  );
  step.tick("padding's storage cost");
  const padding = measurePaddingCost(plan.cohort);
  step.done();
  notes.push(
    `The all-on-chain baseline (contracts/baseline/OnChainRecordStore.sol) was measured on ${storage.onChainFit.samples} ` +
      `envelopes and extrapolated linearly to the ${int(storage.cohort.emrRecords + storage.cohort.readings)} of the cohort; ` +
      "one anchor per record likewise from a sample (its gas hardly varies: fixed-size hash and CID). The Merkle " +
      "design (reading batches and EMR record batches) was measured in full; in the record-batch curve, the one-" +
      `recordUpdate-per-record side is sent in full up to ${RECORD_UPDATES_MEASURED_UP_TO} records and extrapolated ` +
      "from the mean above.",
  );

  // Part 3
  const offOps = 11;
  step = progress.step("3. execution time (off chain)", offOps);
  const offChain = await measureOffChain(
    { ...plan.timing, syntheaBundle: sharedSample(root, "synthea-patient-bundle.json") },
    () => step.tick(),
  );
  step.done();
  const timing = { offChain, contractCalls: meter.timings() };

  // Part 5 (in process) before part 4, so the node's run is the last thing that can fail.
  step = progress.step("5. scaling", plan.scalingSteps.length * 2);
  const scalingSeries = await measureScaling(
    chain,
    ledger,
    { steps: plan.scalingSteps, viewRuns: plan.scalingViewRuns },
    (what) => step.tick(what),
  );
  step.done();
  const scaling = { series: [...scalingSeries, batchSeries(storage.batchCurve)] };

  // FHIR ingest at size, each measurement in its own process (clean peak RSS).
  step = progress.step(`6. FHIR ingest at size (${plan.fhirObservations} Observations)`, 1);
  const fhirAtSize = await measureFhirAtSize(
    root,
    plan.fhirObservations,
    plan.fhirObservations >= FHIR_TARGET.observations,
  );
  step.tick();
  step.done();
  if (!fhirAtSize.measured) notes.push(`FHIR ingest at size not measured: ${fhirAtSize.reason}.`);
  if (fhirAtSize.inProcessReason)
    notes.push(`FHIR at size, in-process comparison not measured: ${fhirAtSize.inProcessReason}.`);

  // Part 7: many twins through the pipeline (its own process); projected once the gateway's capacity is known.
  const scaleOutPlan = { ...plan.scaleOut, ...(args.scaleOutTwins !== undefined && { twins: args.scaleOutTwins }) };
  step = progress.step(`7. scale-out (${scaleOutPlan.twins} twins through the pipeline, SQLite and PostgreSQL)`, 3);
  const scaleOutRun = await measureScaleOut(root, scaleOutPlan, (what) => step.tick(what));
  step.done();
  if (!scaleOutRun.measured) notes.push(`Scale-out not measured: ${scaleOutRun.reason}.`);
  if (!scaleOutRun.postgres) notes.push(`Scale-out on PostgreSQL not measured: ${scaleOutRun.postgresReason}.`);

  // Part 8: cohort queries over 1,000 enrolled twins (in process, synthetic).
  step = progress.step("8. research and prediction: cohort queries over 1,000 twins, forecast alerts", 1);
  const research = runResearchBenchmark({ twins: 1000, runs: args.mode === "quick" ? 5 : 15 });
  step.tick();
  const predictive = measurePredictive({
    seed: plan.cohort.seed,
    ...(args.mode === "quick" && { patients: 6, days: 1 }),
  });
  step.done();

  // Part 4
  const network = args.skipNetwork
    ? notMeasured("skipped with --skip-network")
    : await measureNetworkPart(root, plan, progress);
  if (!args.skipNetwork) notes.push(await compareWithAnvil(network, plan.confirmations, plan.rpcCalls));
  if (args.mode === "quick") {
    notes.push(
      `Quick mode: ${plan.gasRounds} gas rounds, a cohort of ${plan.cohort.patients} patients × ${plan.cohort.days} day, ` +
        `scaling to ${plan.scalingSteps[plan.scalingSteps.length - 1]}, the paper's experiment with ` +
        `${plan.paperRequests} requests in ${plan.paperBlockSeconds}-s blocks (not 200 in 12-s blocks), FHIR ingest at ` +
        `size with ${int(plan.fhirObservations)} Observations (not 20,000: not judged).`,
    );
  }
  if (!network.gateway.measured) notes.push(`Gateway latency not measured: ${network.gateway.reason}.`);
  notes.push(
    "Times are for one machine and one run; gas is exact. The L2 setting prices L2 execution gas only, without the " +
      "rollup's L1 data fee.",
  );

  const base = {
    prices,
    references: Object.values(REFERENCES),
    gas: { ...gasPart, gasReport },
    storage,
    timing,
    network,
    scaling,
    fhirAtSize,
    padding,
    scaleOut: withProjection(
      scaleOutRun,
      network.gateway.autocannon?.find((l) => l.concurrency === 10)?.gateway.okPerSecond,
      prices,
    ),
    research,
    predictive,
    notes,
  };
  const charts = buildCharts(base);
  const costs = {
    deployments: gasPart.deployments.map((d) => ({
      contract: d.contract,
      gas: d.gas,
      priced: priceGas(d.gas, prices),
    })),
    functions: gasPart.functions.map((f) => ({
      function: `${f.contract}.${f.method}`,
      avgGas: f.avg,
      typicalGas: f.typical,
      priced: priceGas(f.avg, prices),
    })),
    storage: storage.designs.map((d) => ({
      design: d.id,
      perPatientDay: priceGas(d.gasPerPatientDay, prices),
      per1000Readings: priceGas(d.gasPer1000Readings, prices),
    })),
    paperDeployment: priceGas(REFERENCES.paperDeployGas.value, prices),
  };
  const targets = [
    ...judgeTargets(storage, timing, network, gasPart.functions, fhirAtSize),
    researchTarget(research),
    predictiveTarget(predictive),
  ];
  const solidity = hre.config.solidity.compilers[0];
  const result: EvaluationResult = {
    meta: {
      generatedAt: new Date().toISOString(),
      mode: args.mode,
      durationSeconds: (performance.now() - started) / 1000,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "unknown CPU",
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      hardhatVersion: (require("hardhat/package.json") as { version: string }).version,
      solcVersion: solidity?.version ?? "unknown",
      optimizer: solidity?.settings?.optimizer?.enabled ? `on, ${solidity.settings.optimizer.runs} runs` : "off",
      evmVersion: solidity?.settings?.evmVersion ?? "default",
      seed: SEED,
      ...gitState(root),
    },
    ...base,
    targets,
    costs,
    charts: charts.map(({ file, title }) => ({ file, title })),
  };

  const outDir = resolve(root, args.outDir);
  mkdirSync(outDir, { recursive: true });
  for (const chart of charts) writeFileSync(join(outDir, chart.file), chart.svg);
  writeFileSync(join(outDir, "evaluation.json"), toJson(result));
  writeFileSync(join(outDir, "evaluation.md"), renderReport(result));
  return result;
}

/** The commit and whether contracts/ differs from it (bounded, and "unknown" outside a git checkout). */
function gitState(root: string): { commit: string; contractsDirty: boolean } {
  const git = (args: string[]) =>
    execFileSync("git", args, { cwd: root, encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] });
  try {
    return {
      commit: git(["rev-parse", "--short", "HEAD"]).trim(),
      contractsDirty: git(["status", "--porcelain", "--", "contracts"]).trim().length > 0,
    };
  } catch {
    return { commit: "unknown", contractsDirty: false };
  }
}

function int(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function notMeasured(reason: string): NetworkPart {
  return {
    measured: false,
    endpoint: "",
    startupSeconds: 0,
    confirmation: [],
    rpcCall: null,
    intervalExperiment: null,
    gateway: { measured: false, reason, runs: [], description: "" },
    error: reason,
  };
}

async function measureNetworkPart(root: string, plan: Plan, progress: Progress): Promise<NetworkPart> {
  let node: LocalNode | null = null;
  const step = progress.step("4. network latency", plan.confirmations + 8 + 4 + 9);
  try {
    step.tick("starting npx hardhat node");
    node = await startLocalNode(root);
    step.tick("deploying over JSON-RPC");
    const ctx = await setUpRpc(node.url);
    const confirmation = await measureConfirmations(ctx, plan.confirmations, () => step.tick("confirmations"));
    const rpcCall = await measureRpcCall(ctx, plan.rpcCalls);
    step.tick("gateway");
    const gateway = await measureGateway(
      root,
      ctx,
      {
        concurrencies: [1, 10, 50],
        requests: plan.gatewayRequests,
        warmup: plan.gatewayWarmup,
        timeoutMs: plan.gatewayTimeoutMs,
        cohortSeed: SEED,
        readingIntervalSeconds: plan.gatewayReadingInterval,
        rateLimitConcurrency: plan.rateLimitConcurrency,
        capacity: { concurrencies: [10, 50], requests: plan.capacityRequests },
        replicas: {
          processes: [1, 2],
          concurrencies: [10, 50],
          twins: plan.replicaTwins,
          requests: plan.capacityRequests,
          sqlite: { processes: [1, 2], concurrencies: [10] },
        },
        coldRuns: plan.coldQueryRuns,
      },
      (what) => step.tick(what),
    );
    const intervalExperiment = await measureIntervalExperiment(
      ctx,
      plan.paperRequests,
      plan.paperBlockSeconds,
      (what) => step.tick(what),
    );
    ctx.provider.destroy();
    return {
      measured: true,
      endpoint: node.url,
      startupSeconds: node.startupSeconds,
      confirmation,
      rpcCall,
      intervalExperiment,
      gateway,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    progress.note(`network part failed: ${message}`);
    return notMeasured(`the network part failed: ${message}`);
  } finally {
    step.done();
    if (node) await node.stop();
  }
}
