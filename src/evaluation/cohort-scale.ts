import { join } from "node:path";
import { groupPeakRssMb, type LocalNode } from "./node-process";
import { startAnvil } from "./anvil-process";
import { compiledChild, execChild } from "./fhir-pipeline";
import { COHORT_SCALE_DATABASE_URL } from "./cohort-scale-run";

/**
 * Issue 12's pipeline benchmark: N twins, each an EMR bundle and a day of one-minute wearable readings from the
 * synthetic cohort, through the custodian's TwinPipeline: records/s, readings/s, peak RSS and gas per twin per day.
 * Twins are ingested `parallel` at a time (the pipeline serializes writes per twin, not per service).
 *
 * As part 6 runs its judged FHIR-at-size child (fhir-pipeline.ts): the chain is anvil in its own process (started
 * here, over JSON-RPC on 127.0.0.1, its own peak RSS reported beside), and the measured child is cohort-scale-run.ts
 * compiled with esbuild (no ts-node compiler, no Hardhat runtime in it), so that its peak RSS is the pipeline's. The
 * child generates the cohort in chunks outside the clock (never whole) and sends the setup transactions several
 * patients at a time: see cohort-scale-run.ts.
 *
 * With `databaseUrl` the pipeline's index lives in that PostgreSQL database instead of SQLite (its tables' size then
 * counts in the storage per twin); blobs and keys are folders either way.
 *
 * Setup (each patient's twin created and its two sources authorized by the patient) is outside the clock and its gas
 * is reported apart: it happens once per patient, not per day.
 */
export interface CohortScaleOptions {
  readonly twins: number;
  /** Twins ingested at a time. */
  readonly parallel: number;
  /** Wearable reading interval, seconds (60: one a minute). */
  readonly intervalSeconds: number;
  /** Bound on the ingest phase (its clock); twins not started by then are not ingested (and counted). */
  readonly timeoutMs: number;
  /** A PostgreSQL URL for the pipeline's index (an empty database); omitted: SQLite, the embedded default. */
  readonly databaseUrl?: string;
}

export interface CohortScaleRun {
  /** Where the pipeline's index lived. */
  readonly backend: "sqlite" | "postgres";
  readonly twins: number;
  readonly twinsIngested: number;
  /** Twins ingested at a time. */
  readonly parallel?: number;
  readonly records: number;
  readonly readings: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly recordsPerSecond: number;
  readonly readingsPerSecond: number;
  /** The measured child's own peak RSS (VmHWM), MB. */
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
  /** Gas of the pipeline's transactions (record anchors, reading batches, state commits) per twin for its day. */
  readonly gasPerTwinDay: number;
  /** Gas of a twin's one-time setup (createTwin, two authorizeSource). */
  readonly setupGasPerTwin: number;
  readonly transactions: number;
  /** Bytes the twins' blobs, wrapped keys and index took on disk, per twin (for its day). */
  readonly storageBytesPerTwinDay: number;
  /** The JS heap in use after the ingest, after a full collection, MB: what the pipeline keeps of the twins. */
  readonly heapAfterMb?: number;
  /** Seconds of the setup transactions and of the cohort's generation (both outside the clock). */
  readonly setupSeconds?: number;
  readonly generateSeconds?: number;
  /** Patients generated at a time, with the clock stopped (the cohort is never held whole). */
  readonly generatedAtOnce?: number;
  /** The wall time of the whole child (setup, generation, ingest, gas count), s. */
  readonly childSeconds?: number;
  /** The chain: anvil in its own process (JSON-RPC on 127.0.0.1). */
  readonly chain?: "anvil";
  /** How the child ran its TypeScript: compiled by esbuild beforehand, or ts-node. */
  readonly runtime?: "compiled" | "ts-node";
  readonly hardhatLoaded?: boolean;
  /** The node's own peak RSS (anvil, VmHWM), MB; null where /proc cannot tell. */
  readonly nodePeakRssMb?: number | null;
}

/** What the child reports (the parent adds the node's RSS and the child's wall time). */
export type CohortScaleChildRun = Omit<CohortScaleRun, "nodePeakRssMb" | "childSeconds">;

/** The states of recent blocks anvil keeps for the benchmark (`--prune-history`). */
export const ANVIL_STATES_KEPT = 64;

/** How the benchmark is run: replaceable in tests. */
export interface CohortScaleDeps {
  readonly startNode: () => Promise<LocalNode>;
  readonly runChild: (
    options: CohortScaleOptions & { readonly rpcUrl: string },
    timeoutMs: number,
  ) => Promise<CohortScaleChildRun>;
}

/**
 * Runs the benchmark in a fresh child process (compiled cohort-scale-run.ts; ts-node when esbuild fails) against an
 * anvil started for it, stopped whatever happens; returns the child's result with anvil's peak RSS. The child is
 * killed after the ingest's bound plus 10 minutes (setup, generation, gas count).
 */
export async function measureCohortScale(
  root: string,
  options: CohortScaleOptions,
  deps: Partial<CohortScaleDeps> = {},
): Promise<CohortScaleRun> {
  // Past states are of no use to an ingest; kept (and, past anvil's memory limit, written to disk for every block)
  // they slowed the node as the chain grew: at 300 twins, 224 s without pruning, 204 s with it.
  const startNode = deps.startNode ?? (() => startAnvil({ timeoutMs: 30_000, pruneHistory: ANVIL_STATES_KEPT }));
  const runChild = deps.runChild ?? ((o, timeoutMs) => cohortChild(root, o, timeoutMs));
  const node = await startNode();
  try {
    const started = performance.now();
    const run = await runChild({ ...options, rpcUrl: node.url }, options.timeoutMs + 600_000);
    const childSeconds = (performance.now() - started) / 1000;
    return { ...run, childSeconds, nodePeakRssMb: groupPeakRssMb(node.pid) };
  } finally {
    await node.stop();
  }
}

/** The child: cohort-scale-run.ts compiled with esbuild (as part 6's), with `--expose-gc` for its RSS marks. */
async function cohortChild(
  root: string,
  options: CohortScaleOptions & { readonly rpcUrl: string },
  timeoutMs: number,
): Promise<CohortScaleChildRun> {
  const compiled = compiledChild(root, "cohort-scale-run");
  const entry = compiled
    ? [compiled]
    : ["-r", "ts-node/register/transpile-only", join(__dirname, "cohort-scale-run.ts")];
  // the database URL (with its password) by environment, so that a failure's message (the command line) holds none
  const { databaseUrl, ...shown } = options;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HARDHAT_NETWORK;
  if (databaseUrl !== undefined) env[COHORT_SCALE_DATABASE_URL] = databaseUrl;
  return execChild<CohortScaleChildRun>(root, ["--expose-gc", ...entry, JSON.stringify(shown)], timeoutMs, env);
}
