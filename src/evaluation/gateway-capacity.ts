import { execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Fastify, { type FastifyInstance } from "fastify";
import type { AutocannonOptions, AutocannonResult } from "./autocannon-load";

const execFileAsync = promisify(execFile);

/** One concurrency level measured with autocannon: the gateway beside a bare fastify handler, in the same run. */
export interface CapacityLevel {
  readonly concurrency: number;
  readonly gateway: AutocannonResult;
  readonly bare: AutocannonResult;
  /** Gateway allowed queries/s over the bare handler's answers/s. */
  readonly ratio: number;
  /** The warm-up rounds before the measured ones (not counted in `gateway` or `bare`). */
  readonly warmup?: { readonly gateway: AutocannonResult; readonly bare: AutocannonResult };
  /**
   * CPU time of this process per answered gateway query during the measured run, ms (user + system): the gateway's
   * own cost when it runs in this process (as in gateway.ts), steadier than a rate on a machine shared with others.
   */
  readonly cpuMsPerQuery?: number;
  /** The machine's 1-minute load average when the level started and when it ended (other work shares the cores). */
  readonly loadAverage?: { readonly before: number; readonly after: number };
}

export interface CapacityOptions {
  readonly root: string;
  /** Where the bodies files go (a temporary folder of the run). */
  readonly dir: string;
  readonly gatewayUrl: string;
  readonly concurrencies: readonly number[];
  /** Pre-signed queries per level at least (each sent once); more when needed for `minSeconds` of load. */
  readonly requests: number;
  /** Pre-signed queries of the warm-up round before each level, sent to the gateway and the bare handler; default 1,000. */
  readonly warmup?: number;
  /** Seconds of load each measured run should last at least (estimated from the warm-up); default 2. */
  readonly minSeconds?: number;
  /** Bound on each autocannon run. */
  readonly timeoutMs: number;
  /** Signs one query body for the gateway (its own nonce, a fresh issuedAt). */
  readonly sign: () => Promise<unknown>;
  readonly tick: (what: string) => void;
  /** The gateway's freshness window, seconds (a body signed longer ago than that is refused); default 60. */
  readonly freshnessSeconds?: number;
  /**
   * Wraps each measured run against the gateway (not the warm-up, not the bare handler's runs): `npm run
   * profile:gateway` takes a CPU profile of exactly that run. Default: the run alone.
   */
  readonly aroundGatewayRun?: MeasuredRunWrapper;
}

/** Runs a measured run, with something around it (a CPU profile), and returns what it returned. */
export type MeasuredRunWrapper = <T>(run: () => Promise<T>) => Promise<T>;

export const DEFAULT_CAPACITY_WARMUP = 1_000;
export const DEFAULT_CAPACITY_SECONDS = 2;

/**
 * How many requests a measured run gets: enough for `minSeconds` of load at `warmRate` (the rate of the warm-up
 * round, which the JIT and the caches make an underestimate, hence a margin of 1.5), at least `minimum`, and no more
 * than 80% of `timeoutMs` at that rate or `cap` (for the gateway: the bodies that can be signed while still fresh).
 */
export function requestsFor(
  warmRate: number,
  bounds: { minimum: number; minSeconds: number; timeoutMs: number; cap?: number },
): number {
  const rate = Number.isFinite(warmRate) && warmRate > 0 ? warmRate : 0;
  const wanted = Math.ceil(rate * bounds.minSeconds * 1.5);
  const bounded = Math.min(wanted, Math.floor((rate * bounds.timeoutMs * 0.8) / 1000), bounds.cap ?? Infinity);
  return Math.max(bounds.minimum, bounded);
}

/**
 * The gateway's capacity as a load generator measures a server (issue 12): for each concurrency, a warm-up round
 * (`warmup` pre-signed queries, not counted) against the gateway and a bare fastify handler, then the measured runs:
 * queries signed before the clock starts are POSTed by autocannon (its own process) to the gateway, then the same
 * bodies (cycled when more are needed) to the bare handler (parse the JSON, answer a small JSON), which runs in a
 * process of its own, so neither shares an event loop with the other or with this process's signing. Each run gets
 * enough requests for `minSeconds` of load at the warm-up's rate. The gateway's throughput is given as a ratio to
 * what the server framework alone does on this machine in the same run.
 */
export async function measureCapacity(options: CapacityOptions): Promise<CapacityLevel[]> {
  const bare = await startBareHandler(options.root);
  const minSeconds = options.minSeconds ?? DEFAULT_CAPACITY_SECONDS;
  const warmupCount = options.warmup ?? DEFAULT_CAPACITY_WARMUP;
  try {
    const levels: CapacityLevel[] = [];
    for (const concurrency of options.concurrencies) {
      const at = `gateway: concurrency ${concurrency}`;
      const before = loadavg()[0];
      options.tick(`${at}, warm-up (${warmupCount} queries to the gateway and the bare handler)`);
      const { file: warmFile, seconds: signSeconds } = await signBodies(options, warmupCount, `warmup-${concurrency}`);
      const warmGateway = await runAutocannonProcess(options, {
        url: `${options.gatewayUrl}/v1/query`,
        bodiesFile: warmFile,
        concurrency,
      });
      const warmBare = await runAutocannonProcess(options, {
        url: `${bare.url}/v1/query`,
        bodiesFile: warmFile,
        concurrency,
      });
      // The measured bodies must all still be fresh when the last of them is sent.
      const signRate = warmupCount / Math.max(signSeconds, 1e-3);
      const fresh = Math.floor(signRate * (options.freshnessSeconds ?? 60) * 0.5);
      const bounds = { minimum: options.requests, minSeconds, timeoutMs: options.timeoutMs };
      const gatewayRequests = requestsFor(warmGateway.okPerSecond, {
        ...bounds,
        cap: Math.max(fresh, options.requests),
      });
      options.tick(`${at}, signing ${gatewayRequests} queries for autocannon`);
      const { file } = await signBodies(options, gatewayRequests, `bodies-${concurrency}`);
      options.tick(`${at}, autocannon against the gateway`);
      const around = options.aroundGatewayRun ?? ((run) => run());
      const {
        gateway,
        used: { user, system },
      } = await around(async () => {
        const cpu = process.cpuUsage();
        const run = await runAutocannonProcess(options, {
          url: `${options.gatewayUrl}/v1/query`,
          bodiesFile: file,
          concurrency,
        });
        return { gateway: run, used: process.cpuUsage(cpu) };
      });
      options.tick(`${at}, autocannon against a bare fastify handler (its own process)`);
      const bareRun = await runAutocannonProcess(options, {
        url: `${bare.url}/v1/query`,
        bodiesFile: file,
        concurrency,
        amount: requestsFor(warmBare.okPerSecond, bounds),
      });
      levels.push({
        concurrency,
        gateway,
        bare: bareRun,
        ratio: gateway.okPerSecond / bareRun.okPerSecond,
        warmup: { gateway: warmGateway, bare: warmBare },
        cpuMsPerQuery: (user + system) / 1000 / Math.max(1, gateway.ok),
        loadAverage: { before, after: loadavg()[0] },
      });
    }
    return levels;
  } finally {
    await bare.stop();
  }
}

async function signBodies(
  options: Pick<CapacityOptions, "dir" | "sign">,
  count: number,
  name: string,
): Promise<{ file: string; seconds: number }> {
  const started = performance.now();
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) bodies.push(JSON.stringify(await options.sign()));
  const file = join(options.dir, `${name}.jsonl`);
  writeFileSync(file, `${bodies.join("\n")}\n`);
  return { file, seconds: (performance.now() - started) / 1000 };
}

/** One autocannon run in its own Node process (src/evaluation/autocannon-load.ts). */
export async function runAutocannonProcess(
  options: Pick<CapacityOptions, "root" | "timeoutMs">,
  level: Omit<AutocannonOptions, "timeoutSeconds">,
): Promise<AutocannonResult> {
  const args: AutocannonOptions = { ...level, timeoutSeconds: Math.ceil(options.timeoutMs / 1000) };
  const { stdout } = await execFileAsync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "autocannon-load.ts"), JSON.stringify(args)],
    { cwd: options.root, timeout: options.timeoutMs + 60_000, maxBuffer: 4 * 1024 * 1024 },
  );
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as AutocannonResult;
}

/** A bare fastify handler in a process of its own (this file run as a script): its URL, and how to stop it. */
export interface BareHandler {
  readonly url: string;
  stop(): Promise<void>;
}

const BARE_START_MS = 60_000;

/** Starts this file as a child process serving the bare handler on a 127.0.0.1 port. */
export function startBareHandler(root: string): Promise<BareHandler> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, "--bare"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  return new Promise<BareHandler>((resolve, reject) => {
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
    const timer = setTimeout(() => {
      void stop();
      reject(new Error("the bare fastify handler did not start"));
    }, BARE_START_MS);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n")[0];
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      const url = (JSON.parse(line) as { url: string }).url;
      if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) reject(new Error(`the bare handler listens on ${url}`));
      else resolve({ url, stop });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the bare fastify handler exited (${code}): ${stderr.split("\n")[0]}`));
    });
  });
}

/**
 * The bare handler the gateway is compared with (here and in the replica run): `POST /v1/query` parses the JSON body
 * and answers a small JSON, which is what the framework alone costs per request.
 */
export function bareHandler(): FastifyInstance {
  const bare = Fastify({ logger: false });
  bare.post("/v1/query", async (request) => ({ ok: true, size: JSON.stringify(request.body).length }));
  return bare;
}

async function serveBare(): Promise<void> {
  const bare = bareHandler();
  const url = await bare.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once("SIGTERM", () => void bare.close().finally(() => process.exit(0)));
}

if (require.main === module && process.argv[2] === "--bare") {
  serveBare().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

const ms1 = (x: number) => x.toFixed(1);
const loadOf = (l: CapacityLevel) =>
  l.loadAverage ? `${l.loadAverage.before.toFixed(1)} → ${l.loadAverage.after.toFixed(1)}` : "n/a";
const failedOf = (r: AutocannonResult) => r.non2xx + r.errors + r.timeouts;

/** The report's blocks for the capacity run (markdown paragraphs and a table); none when it did not run. */
export function renderCapacity(
  levels: readonly CapacityLevel[] | undefined,
  table: (h: string[], rows: string[][]) => string,
): string[] {
  if (!levels?.length) return [];
  const warm = levels[0].warmup?.gateway.requests;
  return [
    "### The gateway under a load generator (issue 12)",
    "autocannon (its own process) POSTs queries signed before the clock starts, each sent once, over keep-alive " +
      "connections; then the same bodies (cycled when it needs more) go to a bare fastify handler (parse the JSON, " +
      "answer a small JSON) in a process of its own, so the gateway's throughput reads as a share of what the " +
      "framework alone does on this machine in the same run. " +
      (warm !== undefined
        ? `Before each level a warm-up round of ${int(warm)} queries, not counted, goes to both. `
        : "") +
      "Each measured run is sized for at least 2 s of load at the warm-up's rate. CPU ms a query is the gateway " +
      "process's own CPU time (user + system) over the allowed answers of the measured run: steadier than a rate " +
      "when other work shares the two cores, as the load average says. Every query asks the same question " +
      "(`latest-vitals` of one twin, whose data does not change during the run), so after the first the gateway " +
      "answers from the answer it kept (src/service/answer-cache.ts); the signature, audience, freshness, replay " +
      "and consent at the head are still checked, and the access log written, for every query. Answers are not " +
      "proof-checked here (the end-to-end table does that).",
    table(
      [
        "concurrency",
        "queries",
        "seconds",
        "gateway: allowed/s",
        "p50 ms",
        "p99 ms",
        "refused or errors",
        "CPU ms a query",
        "bare fastify: answers/s",
        "p99 ms",
        "gateway / bare",
        "load average",
      ],
      levels.map((l) => [
        String(l.concurrency),
        int(l.gateway.requests),
        l.gateway.seconds.toFixed(2),
        l.gateway.okPerSecond.toFixed(0),
        ms1(l.gateway.latencyMs.p50),
        ms1(l.gateway.latencyMs.p99),
        int(failedOf(l.gateway)),
        l.cpuMsPerQuery !== undefined ? l.cpuMsPerQuery.toFixed(3) : "n/a",
        l.bare.okPerSecond.toFixed(0),
        ms1(l.bare.latencyMs.p99),
        `${(l.ratio * 100).toFixed(1)}%`,
        loadOf(l),
      ]),
    ),
  ];
}

/** The verdict row of issue 12's load target: ≥ 3,000 allowed queries/s at concurrency 10 with p99 ≤ 20 ms. */
export function capacityVerdict(levels: readonly CapacityLevel[] | undefined): {
  readonly id: string;
  readonly target: string;
  readonly measured: string;
  readonly verdict: "met" | "missed" | "not measured";
} {
  const id = "gateway-autocannon-c10";
  const target =
    "the gateway under a load generator (autocannon, pre-signed queries) at concurrency 10: ≥ 3,000 allowed queries/s with p99 ≤ 20 ms (issue 12)";
  const l = levels?.find((x) => x.concurrency === 10);
  if (l === undefined) return { id, target, measured: "not measured", verdict: "not measured" };
  const g = l.gateway;
  const cpu = l.cpuMsPerQuery !== undefined ? `; ${l.cpuMsPerQuery.toFixed(3)} ms of gateway CPU a query` : "";
  const measured =
    `${g.okPerSecond.toFixed(1)} allowed queries/s, p50 ${g.latencyMs.p50.toFixed(2)} ms, p99 ${g.latencyMs.p99.toFixed(2)} ms ` +
    `(${int(g.requests)} queries in ${g.seconds.toFixed(2)} s after a warm-up); ${failedOf(g)} refused or failed; ` +
    `${(l.ratio * 100).toFixed(1)}% of a bare fastify handler (${l.bare.okPerSecond.toFixed(1)}/s, its own process) in ` +
    `the same run${cpu}; load average ${loadOf(l)} on 2 cores shared with other work`;
  const met = g.okPerSecond >= 3000 && g.latencyMs.p99 <= 20 && failedOf(g) === 0;
  return { id, target, measured, verdict: met ? "met" : "missed" };
}

function int(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a";
}
