import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { AutocannonResult } from "./autocannon-load";
import { startEvaluationPostgres, type EvaluationPostgres } from "./embedded-postgres";
import { runAutocannonProcess } from "./gateway-capacity";
import { processCpuMs } from "./node-process";
import { REPLICA_FRESHNESS_SECONDS, startReplica, type ReplicaConfig, type ReplicaProcess } from "./gateway-replica";

/**
 * The gateway across several processes (issue 12): N gateway processes of one operator, each a full gateway on its
 * own 127.0.0.1 port, sharing one PostgreSQL database (nonce store and access log), each loaded by its own autocannon
 * process with its own pre-signed queries (each with its own nonce, sent once), all at once; then N bare fastify
 * processes loaded the same way, so the total reads as a share of what the framework alone does with N processes on
 * this machine. Plus a replayed-query check across replicas: a body answered by one replica is refused by the others.
 */
export interface ReplicaLoad {
  readonly requests: number;
  /** Answers with a 2xx status. */
  readonly ok: number;
  readonly refusedOrErrors: number;
  /** The longest of the processes' runs. */
  readonly seconds: number;
  /** All processes' 2xx answers over the longest run. */
  readonly okPerSecond: number;
  /** The highest of the processes' p50 and p99 (one histogram per autocannon process). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly perProcess: readonly AutocannonResult[];
}

export interface ReplicaLevel {
  readonly processes: number;
  /** Connections in all (split evenly over the processes' autocannons). */
  readonly concurrency: number;
  /** Connections of each process's autocannon. */
  readonly concurrencyPerProcess: number;
  readonly gateway: ReplicaLoad;
  readonly bare: ReplicaLoad;
  /** Gateway allowed queries/s over the bare processes' answers/s. */
  readonly ratio: number;
  /** The 1-minute load average right after the gateway's measured load. */
  readonly loadAverage: number;
  /**
   * CPU time (user + system) of all gateway processes during the measured load over their allowed answers, ms
   * (/proc/<pid>/stat, to 10 ms): what a query costs whatever else shares the cores; absent where /proc cannot tell.
   */
  readonly cpuMsPerQuery?: number;
}

export interface ReplayCheck {
  /** The status of the body at its first replica (200 expected). */
  readonly first: number;
  /** The statuses of the same body replayed to each replica, the first one included (409 `replayed` expected). */
  readonly replays: readonly number[];
}

export interface ReplicaCapacity {
  readonly measured: boolean;
  readonly reason: string;
  /** Where the nonce store and the access log lived (absent in reports before it was recorded: PostgreSQL). */
  readonly backend?: "postgres" | "sqlite";
  /** "embedded" (embedded-postgres started by the run) or "DATABASE_URL". */
  readonly postgresSource: string;
  /** The twins the queries spread over. */
  readonly twins: number;
  readonly levels: readonly ReplicaLevel[];
  readonly replay: ReplayCheck | null;
}

export interface ReplicaOptions {
  readonly root: string;
  readonly dir: string;
  /** Process counts to measure, e.g. [1, 2]. */
  readonly processes: readonly number[];
  /** Connections in all for each level, split evenly over the processes, e.g. [10, 50]. */
  readonly concurrencies: readonly number[];
  /** Pre-signed queries per level, split evenly over the processes. */
  readonly requests: number;
  readonly timeoutMs: number;
  /** The config of every replica but the database (set here), the kind and the twins. */
  readonly config: Omit<ReplicaConfig, "kind" | "databaseUrl" | "dbPath" | "twinIds">;
  /** The twins the queries spread over, round robin (each registered and granted on chain); the first is `config.twin`. */
  readonly twinIds: readonly string[];
  /** Where the access log and nonces live: PostgreSQL (the default) or one SQLite file shared by the processes. */
  readonly backend?: "postgres" | "sqlite";
  /** Write a V8 CPU profile of each gateway process (`--cpu-prof`) into this folder; omitted: none. */
  readonly cpuProfileDir?: string;
  /** Signs one query body about `twinId` addressed to the replicas' shared origin (its own nonce, a fresh issuedAt). */
  readonly sign: (twinId: string) => Promise<unknown>;
  readonly tick: (what: string) => void;
}

/** The SQLite run's stand-in for a server. */
const NO_SERVER: EvaluationPostgres = {
  source: "embedded",
  url: "",
  database: () => Promise.reject(new Error("no PostgreSQL in a SQLite run")),
  stop: async () => undefined,
};

/** Signed queries each process gets in the warm-up round before a measured level (not counted), at least. */
const WARMUP = 200;

export async function measureReplicas(options: ReplicaOptions): Promise<ReplicaCapacity> {
  const backend = options.backend ?? "postgres";
  const base = { backend, postgresSource: "", twins: options.twinIds.length, levels: [], replay: null };
  let server: EvaluationPostgres;
  try {
    options.tick("gateway replicas: starting PostgreSQL");
    server = options.backend === "sqlite" ? NO_SERVER : await startEvaluationPostgres();
  } catch (error) {
    return { ...base, measured: false, reason: `PostgreSQL did not start: ${firstLine(error)}` };
  }
  try {
    const store =
      options.backend === "sqlite"
        ? { dbPath: join(options.dir, "replicas", "access-log.sqlite") }
        : { databaseUrl: await server.database("gateway_replicas") };
    const configOf = (kind: ReplicaConfig["kind"]) => {
      const path = join(options.dir, `replica-${kind}.json`);
      const config: ReplicaConfig = { ...options.config, kind, ...store, twinIds: options.twinIds };
      writeFileSync(path, JSON.stringify(config));
      return path;
    };
    const gatewayConfig = configOf("gateway");
    const bareConfig = configOf("bare");
    const levels: ReplicaLevel[] = [];
    let replay: ReplayCheck | null = null;
    for (const n of options.processes) {
      const signed = new BodySigner(options, n);
      const measured: Omit<ReplicaLevel, "bare" | "ratio">[] = [];
      const files: string[][] = [];
      await withProcesses(options.root, gatewayConfig, n, options.cpuProfileDir, async (replicas) => {
        if (n > 1 && replay === null) replay = await checkReplay(replicas, () => options.sign(options.twinIds[0]));
        for (const [k, concurrency] of options.concurrencies.entries()) {
          const perProcess = Math.max(1, Math.floor(concurrency / n));
          // Each process's first warm-up asks about every twin once (the consent answers it then keeps).
          const warmup = k === 0 ? Math.max(WARMUP, options.twinIds.length) : WARMUP;
          options.tick(`gateway replicas: ${n} process(es), concurrency ${concurrency}: warm-up`);
          const warm = await loadAll(
            options,
            replicas,
            await signed.files(`warmup-${concurrency}`, warmup),
            perProcess,
          );
          const refused = warm.perProcess.reduce((a, r) => a + r.non2xx, 0);
          if (refused > 0) throw new Error(`${refused} warm-up queries were refused`);
          options.tick(`gateway replicas: ${n} process(es), concurrency ${concurrency}: signing`);
          const level = await signed.files(`load-${concurrency}`, Math.ceil(options.requests / n));
          options.tick(`gateway replicas: ${n} process(es), concurrency ${concurrency}: autocannon`);
          const cpuBefore = cpuOf(replicas);
          const gateway = await loadAll(options, replicas, level, perProcess);
          const cpuAfter = cpuOf(replicas);
          files.push(level);
          measured.push({
            processes: n,
            concurrency,
            concurrencyPerProcess: perProcess,
            gateway,
            loadAverage: loadavg()[0],
            ...(cpuBefore !== null &&
              cpuAfter !== null &&
              gateway.ok > 0 && { cpuMsPerQuery: (cpuAfter - cpuBefore) / gateway.ok }),
          });
        }
      });
      await withProcesses(options.root, bareConfig, n, undefined, async (servers) => {
        for (const [k, level] of measured.entries()) {
          options.tick(`gateway replicas: ${n} bare fastify process(es), concurrency ${level.concurrency}`);
          await loadAll(options, servers, files[k], level.concurrencyPerProcess); // warm-up
          const bare = await loadAll(options, servers, files[k], level.concurrencyPerProcess);
          levels.push({ ...level, bare, ratio: level.gateway.okPerSecond / bare.okPerSecond });
        }
      });
    }
    const postgresSource = backend === "sqlite" ? "" : server.source;
    return { measured: true, reason: "", backend, postgresSource, twins: options.twinIds.length, levels, replay };
  } catch (error) {
    return { ...base, postgresSource: server.source, measured: false, reason: firstLine(error) };
  } finally {
    await server.stop();
  }
}

/** The CPU time all `processes` have used so far, ms; null where /proc cannot tell. */
function cpuOf(processes: readonly ReplicaProcess[]): number | null {
  let total = 0;
  for (const { child } of processes) {
    const ms = child.pid === undefined ? null : processCpuMs(child.pid);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

/** Writes pre-signed bodies, one file per process, the twins taken round robin across all of them. */
class BodySigner {
  #next = 0;

  constructor(
    private readonly options: Pick<ReplicaOptions, "dir" | "sign" | "twinIds">,
    private readonly processes: number,
  ) {}

  async files(label: string, each: number): Promise<string[]> {
    const files: string[] = [];
    for (let p = 0; p < this.processes; p++) {
      const bodies: string[] = [];
      for (let i = 0; i < each; i++) {
        const twinId = this.options.twinIds[this.#next++ % this.options.twinIds.length];
        bodies.push(JSON.stringify(await this.options.sign(twinId)));
      }
      files.push(join(this.options.dir, `replica-bodies-${this.processes}-${label}-${p}.jsonl`));
      writeFileSync(files[p], `${bodies.join("\n")}\n`);
    }
    return files;
  }
}

async function withProcesses<T>(
  root: string,
  configPath: string,
  n: number,
  cpuProfileDir: string | undefined,
  body: (processes: readonly ReplicaProcess[]) => Promise<T>,
): Promise<T> {
  const started: ReplicaProcess[] = [];
  try {
    for (let i = 0; i < n; i++) started.push(await startReplica(root, configPath, cpuProfileDir));
    return await body(started);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
  }
}

async function loadAll(
  options: ReplicaOptions,
  processes: readonly ReplicaProcess[],
  files: readonly string[],
  concurrency: number,
): Promise<ReplicaLoad> {
  const results = await Promise.all(
    processes.map((p, i) =>
      runAutocannonProcess(options, { url: `${p.url}/v1/query`, bodiesFile: files[i], concurrency }),
    ),
  );
  return combine(results);
}

/** Several autocannon runs at once as one load: counts summed over the longest run; the worst percentiles. */
export function combine(results: readonly AutocannonResult[]): ReplicaLoad {
  const seconds = Math.max(...results.map((r) => r.seconds));
  const ok = results.reduce((a, r) => a + r.ok, 0);
  return {
    requests: results.reduce((a, r) => a + r.requests, 0),
    ok,
    refusedOrErrors: results.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0),
    seconds,
    okPerSecond: seconds > 0 ? ok / seconds : 0,
    p50Ms: Math.max(...results.map((r) => r.latencyMs.p50)),
    p99Ms: Math.max(...results.map((r) => r.latencyMs.p99)),
    perProcess: results,
  };
}

async function post(url: string, body: unknown): Promise<number> {
  const response = await fetch(`${url}/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  await response.arrayBuffer();
  return response.status;
}

/** One body answered by the first replica, then replayed to every replica (the first included). */
async function checkReplay(replicas: readonly ReplicaProcess[], sign: () => Promise<unknown>): Promise<ReplayCheck> {
  const body = await sign();
  const first = await post(replicas[0].url, body);
  const replays: number[] = [];
  for (const replica of [...replicas.slice(1), replicas[0]]) replays.push(await post(replica.url, body));
  return { first, replays };
}

function firstLine(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

const ms = (x: number) => x.toFixed(1);

/** The report's blocks for the replica run (markdown paragraphs and tables); `backend` picks the heading. */
export function renderReplicas(
  part: ReplicaCapacity | undefined,
  table: (h: string[], rows: string[][]) => string,
): string[] {
  if (!part) return [];
  const sqlite = part.backend === "sqlite";
  const out = [
    sqlite
      ? "### The gateway across several processes on one machine, sharing one SQLite file (issue 12)"
      : "### The gateway across several processes (issue 12)",
  ];
  if (!part.measured) return [...out, `**Not measured**: ${part.reason}.`];
  const store = sqlite
    ? "sharing one SQLite file (WAL) for the nonce store and the access log, as processes of one machine can"
    : "sharing one PostgreSQL database for the nonce store and the access log " +
      `(${part.postgresSource === "embedded" ? "embedded-postgres started by the run" : "the server of DATABASE_URL"})`;
  const withCpu = part.levels.some((l) => l.cpuMsPerQuery !== undefined);
  out.push(
    `N gateway processes of one operator (each a full gateway on its own 127.0.0.1 port), ${store}. ` +
      `The queries spread over ${part.twins.toLocaleString("en-US")} twins, round robin, each registered with the ` +
      "operator as custodian and granting the reader on chain (a consent question and a custody check per twin); " +
      "every twin is answered with the same small twin's data as the pipeline answered it, held in memory (data " +
      "that does not change: each replica builds a twin's answer once and keeps it, src/service/answer-cache.ts, " +
      "while every query is still checked, claimed and logged). Each " +
      "process is loaded by its own autocannon process, the connections split evenly, with its own pre-signed " +
      "queries (each with its own nonce, sent once), all at once, after a warm-up round not counted; then N bare " +
      "fastify processes the same way with the same bodies. Allowed/s is all processes' 2xx answers over the longest " +
      "run; p50 and p99 are the highest of the processes'; load is the 1-minute load average right after the " +
      "gateway's run" +
      (withCpu ? "; CPU ms a query is all gateway processes' CPU time during the run over their allowed answers" : "") +
      `. The replicas accept queries up to ${REPLICA_FRESHNESS_SECONDS} s old (the default is 60 s), ` +
      "as the queries are signed before each level. Everything (gateways, load generators, " +
      (sqlite ? "" : "PostgreSQL, ") +
      "the node) shares the machine's cores, so N = 2 on 2 cores also shares them with two load generators.",
    table(
      [
        "processes",
        "connections",
        "queries",
        "gateway: allowed/s",
        "p50 ms",
        "p99 ms",
        "refused or errors",
        ...(withCpu ? ["CPU ms a query"] : []),
        "load",
        "bare: answers/s",
        "p99 ms",
        "gateway / bare",
      ],
      part.levels.map((l) => [
        String(l.processes),
        String(l.concurrency),
        l.gateway.requests.toLocaleString("en-US"),
        l.gateway.okPerSecond.toFixed(0),
        ms(l.gateway.p50Ms),
        ms(l.gateway.p99Ms),
        String(l.gateway.refusedOrErrors),
        ...(withCpu ? [l.cpuMsPerQuery === undefined ? "–" : l.cpuMsPerQuery.toFixed(3)] : []),
        l.loadAverage.toFixed(1),
        l.bare.okPerSecond.toFixed(0),
        ms(l.bare.p99Ms),
        `${(l.ratio * 100).toFixed(1)}%`,
      ]),
    ),
  );
  const r = part.replay;
  if (r) {
    const refused = r.first === 200 && r.replays.every((s) => s === 409);
    out.push(
      `Replay across replicas: a query answered ${r.first} by one replica, then replayed to each replica, was ` +
        `answered ${r.replays.join(", ")} (${refused ? "refused by every replica, as it must be" : "NOT refused by every replica"}).`,
    );
  }
  return out;
}
