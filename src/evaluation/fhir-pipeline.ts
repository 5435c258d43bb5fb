import { execFile, type ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { startAnvil } from "./anvil-process";
import { measureFhirIngest } from "./fhir-ingest";
import { groupPeakRssMb, processPeakRssMb, type LocalNode } from "./node-process";
import type { FhirAtSize, FhirNode, FhirPipelineRun } from "./types";

/**
 * FHIR ingest at size (issue 11, defect 8), the whole pipeline: one Patient and N generated vital-sign Observations
 * as one collection Bundle (JSON text, made before the clock starts) through `TwinPipeline.ingestEmr`: parse and
 * checks, every record encoded, padded and sealed (AES-256-GCM, keys wrapped for the custodian and the patient) into
 * a local blob folder, one anchorRecords transaction, the twin engine and the version commit. Target: 20,000
 * Observations in at most 10 s and 300 MB RSS on the 2-core machine.
 *
 * Each measurement runs in its own Node process (`node cache/evaluation/fhir-pipeline.js '<json>'`, this file
 * compiled: `compiledChild`), so that its peak RSS is the process's own (VmHWM of /proc/self/status: `processPeakRssMb`, the
 * kernel's high-water mark), not the evaluation's; the RSS just before the ingest (everything set up, the input made)
 * is reported beside it. Run alone, `node -r ts-node/register/transpile-only src/evaluation/fhir-pipeline.ts
 * '{"mode":"pipeline","count":20000}'` starts its own anvil when given no `rpcUrl` (and stops it). The judged run talks over JSON-RPC on 127.0.0.1 to anvil, started here in its own process, as a pipeline talks
 * to its node in production: the child loads no Hardhat runtime and holds no chain; the node's own peak RSS is
 * reported beside the child's. Anvil rather than `hardhat node`: a native node that starts in well under a second
 * (hardhat node: ~10 s and a Node runtime of its own), with its own mempool and miner, answering JSON-RPC as
 * production endpoints do (issue 12, "The chain"). The same run on Hardhat's in-process network, as the benchmark
 * ran before, is kept as a comparison row (its RSS carries Hardhat's runtime and chain).
 */

/** `ingest`: the streamed ingest alone. `pipeline`: over JSON-RPC to `rpcUrl`. `in-process`: on Hardhat's network. */
export type FhirChildMode = "ingest" | "pipeline" | "in-process";

export interface FhirChildOptions {
  readonly mode: FhirChildMode;
  readonly count: number;
  /** The node's URL and kind (`pipeline` only; 127.0.0.1). */
  readonly rpcUrl?: string;
  readonly node?: FhirNode["kind"];
  /** Start the child with this V8 old-space budget (`--max-old-space-size`), MB; absent: V8's default. */
  readonly heapLimitMb?: number;
}

/**
 * The judged run's V8 old-space budget, MB. A Node service given a memory budget is started with one (a container's
 * limit, `--max-old-space-size`); without it V8 lets the heap grow far past what is live before a full collection (the
 * 20,000-Observation ingest holds at most about 135 MB live, measured with a forced collection every 200 ms, yet
 * peaks near 410 MB of RSS with the default heap). 160 MB leaves room for that live set and keeps the process inside
 * the target's 300 MB. The budget bounds the bundle a pipeline so started can take: the live set grows with the
 * bundle, so a deployment sizes it with its ingest limits (src/fhir limits). The run with V8's default heap is
 * measured beside it (`defaultHeap`).
 */
export const FHIR_HEAP_LIMIT_MB = 160;

/** The target: 20,000 Observations through the pipeline. */
export const FHIR_TARGET = { observations: 20_000, seconds: 10, rssMb: 300 } as const;

/** The measured children running now: killed with this process, whatever the way out. */
const children = new Set<ChildProcess>();
let exitHandlerInstalled = false;

/** Kills every measured child this process started, synchronously: for signal and exit handlers. */
export function killFhirChildren(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}

interface EsbuildLike {
  buildSync(options: Record<string, unknown>): unknown;
}

/**
 * This file and what it imports as one JavaScript file (esbuild, which the project has through vite; the packages
 * left in node_modules), written to `<root>/cache/evaluation/`: a pipeline in production runs compiled JavaScript, and
 * ts-node's compiler and transpiled sources would add some 120 MB to the measured RSS (the child's modules loaded:
 * about 200 MB under ts-node, 75 MB compiled, on this machine). Null when esbuild cannot be loaded or fails: the child
 * then runs under ts-node, and its result says so (`runtime`).
 */
export function compiledChild(root: string, entry = "fhir-pipeline"): string | null {
  try {
    const esbuild = require("esbuild") as EsbuildLike;
    const outfile = join(root, "cache", "evaluation", `${entry}.js`);
    esbuild.buildSync({
      entryPoints: [join(__dirname, `${entry}.ts`)],
      outfile,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: `node${process.versions.node.split(".")[0]}`,
      packages: "external",
      logLevel: "silent",
    });
    return outfile;
  } catch {
    return null;
  }
}

/** The arguments that start the measured child: compiled where possible, except the in-process run (Hardhat's). */
function childArgs(root: string, options: FhirChildOptions): string[] {
  const compiled = options.mode === "in-process" ? null : compiledChild(root);
  const entry = compiled ? [compiled] : ["-r", "ts-node/register/transpile-only", join(__dirname, "fhir-pipeline.ts")];
  const heap = options.heapLimitMb === undefined ? [] : [`--max-old-space-size=${options.heapLimitMb}`];
  return [...heap, ...entry, JSON.stringify(options)];
}

/** Runs one measurement in a child process (killed after `timeoutMs`); returns what it printed (its last line). */
export async function inChild<T>(root: string, options: FhirChildOptions, timeoutMs: number): Promise<T> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.mode === "in-process") env.HARDHAT_NETWORK = "hardhat";
  else delete env.HARDHAT_NETWORK;
  return execChild<T>(root, childArgs(root, options), timeoutMs, env);
}

/** Runs `node <args>` in `root` as a measured child (killed after `timeoutMs`, or with this process); returns the
 * JSON of its last line of output. Without `env`, this process's environment less `HARDHAT_NETWORK`. */
export async function execChild<T>(
  root: string,
  args: string[],
  timeoutMs: number,
  env?: NodeJS.ProcessEnv,
): Promise<T> {
  if (env === undefined) {
    env = { ...process.env };
    delete env.HARDHAT_NETWORK;
  }
  if (!exitHandlerInstalled) {
    process.once("exit", killFhirChildren);
    exitHandlerInstalled = true;
  }
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      args,
      { cwd: root, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024, env },
      (error, out, err) => {
        children.delete(child);
        if (error) reject(new Error(`${error.message.split("\n")[0]}: ${String(err).trim().split("\n").pop() ?? ""}`));
        else resolve(String(out));
      },
    );
    children.add(child);
  });
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** How the measurements are made: replaceable in tests. */
export interface FhirAtSizeDeps {
  /** Starts the judged run's node (default: anvil). */
  readonly startNode: () => Promise<LocalNode & { readonly kind?: FhirNode["kind"] }>;
  /** Runs one child measurement (default: `inChild` in `root`). */
  readonly runChild: (options: FhirChildOptions, timeoutMs: number) => Promise<FhirPipelineRun>;
  /** Whether to run the in-process comparison row (default: true). */
  readonly inProcess: boolean;
}

/** The judged pipeline run over JSON-RPC: the node started, the child run, the node's peak RSS read, the node stopped. */
export async function pipelineOverRpc(
  count: number,
  timeoutMs: number,
  deps: Pick<FhirAtSizeDeps, "startNode" | "runChild">,
  heapLimitMb: number | null = FHIR_HEAP_LIMIT_MB,
): Promise<{ pipeline: FhirPipelineRun; node: FhirNode }> {
  const node = await deps.startNode();
  try {
    const kind = node.kind ?? "anvil";
    const heap = heapLimitMb === null ? {} : { heapLimitMb };
    const pipeline = await deps.runChild({ mode: "pipeline", count, rpcUrl: node.url, node: kind, ...heap }, timeoutMs);
    return { pipeline, node: { kind, startupSeconds: node.startupSeconds, peakRssMb: groupPeakRssMb(node.pid) } };
  } finally {
    await node.stop();
  }
}

/**
 * The measurements, each in a fresh process: the streamed ingest alone (`measureFhirIngest`), the whole pipeline over
 * JSON-RPC to anvil with the heap budget {@link FHIR_HEAP_LIMIT_MB} (judged), the same with V8's default heap
 * (comparison), and the whole pipeline on the in-process network (comparison). A failure of the first
 * two is reported as not measured, with the reason, instead of failing the evaluation; the comparison row is then
 * left out. Every child is killed after its timeout (10 min a run at the target's size, 3 min in quick mode), and the
 * node is stopped whatever happens (and killed with this process: anvil-process.ts).
 */
export async function measureFhirAtSize(
  root: string,
  count: number,
  judged: boolean,
  deps: Partial<FhirAtSizeDeps> = {},
): Promise<FhirAtSize> {
  const timeoutMs = judged ? 600_000 : 180_000;
  const runChild = deps.runChild ?? ((options, timeout) => inChild<FhirPipelineRun>(root, options, timeout));
  const startNode = deps.startNode ?? (() => startAnvil({ timeoutMs: 30_000 }));
  try {
    const ingest = await runChild({ mode: "ingest", count }, timeoutMs);
    const { pipeline, node } = await pipelineOverRpc(count, timeoutMs, { startNode, runChild });
    // the same run with V8's default heap, on a node of its own (comparison; a failure leaves the row out)
    const defaultHeap = await pipelineOverRpc(count, timeoutMs, { startNode, runChild }, null)
      .then((run) => run.pipeline)
      .catch(() => null);
    let inProcess: FhirPipelineRun | null = null;
    let inProcessReason: string | undefined;
    if (deps.inProcess ?? true) {
      inProcess = await runChild({ mode: "in-process", count }, timeoutMs).catch((error: unknown) => {
        inProcessReason = error instanceof Error ? error.message.split("\n")[0] : String(error);
        return null;
      });
    }
    const comparison = inProcessReason === undefined ? {} : { inProcessReason };
    return {
      measured: true,
      reason: "",
      observations: count,
      judged,
      ingest,
      pipeline,
      node,
      defaultHeap,
      inProcess,
      ...comparison,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { measured: false, reason: message, observations: count, judged, ingest: null, pipeline: null };
  }
}

/** The streamed ingest alone (src/fhir ingestStream), in this process. */
async function ingestRun(count: number): Promise<FhirPipelineRun> {
  const loadAverage = loadavg()[0];
  const m = await measureFhirIngest(count);
  return {
    records: m.records,
    readings: m.readings,
    inputBytes: m.inputBytes,
    seconds: m.seconds,
    cpuSeconds: m.cpuSeconds,
    peakRssMb: processPeakRssMb(),
    rssBeforeMb: m.baselineRssMb,
    anchorGas: null,
    loadAverage,
  };
}

/** How this process runs its TypeScript: compiled to JavaScript beforehand, or transpiled on load by ts-node. */
export function childRuntime(): "compiled" | "ts-node" {
  return __filename.endsWith(".ts") ? "ts-node" : "compiled";
}

/** One measurement, in this process (a fresh one), noting how it ran. */
async function childRun(options: FhirChildOptions): Promise<FhirPipelineRun> {
  const heap = options.heapLimitMb === undefined ? {} : { heapLimitMb: options.heapLimitMb };
  return { ...(await measureIn(options)), runtime: childRuntime(), ...heap };
}

/** One measurement, in this process (fhir-run.ts is loaded only here). */
async function measureIn(options: FhirChildOptions): Promise<FhirPipelineRun> {
  if (options.mode === "ingest") return ingestRun(options.count);
  const { inProcessLedger, pipelineRun, rpcLedger } = await import("./fhir-run");
  if (options.mode === "in-process") return pipelineRun(await inProcessLedger(), options.count);
  if (options.mode !== "pipeline") throw new Error(`unknown mode ${String(options.mode)}`);
  if (options.rpcUrl) return pipelineRun(await rpcLedger(options.rpcUrl, options.node ?? "anvil"), options.count);
  // run alone: a node of its own, in its own process
  const node = await startAnvil({ timeoutMs: 30_000 });
  try {
    return await pipelineRun(await rpcLedger(node.url, "anvil"), options.count);
  } finally {
    await node.stop();
  }
}

if (require.main === module) {
  // A measured child outlives no evaluation: it ends when its parent is gone (reparented).
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(1), 500).unref();
  const options = JSON.parse(process.argv[2] ?? "{}") as FhirChildOptions;
  childRun(options)
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0); // Hardhat's runtime keeps handles open
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
