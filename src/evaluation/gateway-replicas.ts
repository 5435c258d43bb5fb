import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AutocannonResult } from "./autocannon-load";
import { startEvaluationPostgres, type EvaluationPostgres } from "./embedded-postgres";
import { runAutocannonProcess } from "./gateway-capacity";
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
  /** Connections of each process's autocannon (the total concurrency split evenly). */
  readonly concurrencyPerProcess: number;
  readonly gateway: ReplicaLoad;
  readonly bare: ReplicaLoad;
  /** Gateway allowed queries/s over the bare processes' answers/s. */
  readonly ratio: number;
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
  /** "embedded" (embedded-postgres started by the run) or "DATABASE_URL". */
  readonly postgresSource: string;
  readonly totalConcurrency: number;
  readonly levels: readonly ReplicaLevel[];
  readonly replay: ReplayCheck | null;
}

export interface ReplicaOptions {
  readonly root: string;
  readonly dir: string;
  /** Process counts to measure, e.g. [1, 2]. */
  readonly processes: readonly number[];
  /** Connections in all, split evenly over the processes. */
  readonly totalConcurrency: number;
  /** Pre-signed queries per level, split evenly over the processes. */
  readonly requests: number;
  readonly timeoutMs: number;
  /** The config of every replica but the database (set here) and the kind. */
  readonly config: Omit<ReplicaConfig, "kind" | "databaseUrl" | "dbPath">;
  /** Where the access log and nonces live: PostgreSQL (the default) or one SQLite file shared by the processes. */
  readonly backend?: "postgres" | "sqlite";
  /** Write a V8 CPU profile of each gateway process (`--cpu-prof`) into this folder; omitted: none. */
  readonly cpuProfileDir?: string;
  /** Signs one query body addressed to the replicas' shared origin (its own nonce, a fresh issuedAt). */
  readonly sign: () => Promise<unknown>;
  readonly tick: (what: string) => void;
}

/** The SQLite run's stand-in for a server. */
const NO_SERVER: EvaluationPostgres = {
  source: "embedded",
  url: "",
  database: () => Promise.reject(new Error("no PostgreSQL in a SQLite run")),
  stop: async () => undefined,
};

/** Signed queries sent to each gateway process before its clock starts (JIT, consent cache, connections). */
const WARMUP = 20;

export async function measureReplicas(options: ReplicaOptions): Promise<ReplicaCapacity> {
  const base = { postgresSource: "", totalConcurrency: options.totalConcurrency, levels: [], replay: null };
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
      writeFileSync(path, JSON.stringify({ ...options.config, kind, ...store } satisfies ReplicaConfig));
      return path;
    };
    const gatewayConfig = configOf("gateway");
    const bareConfig = configOf("bare");
    const levels: ReplicaLevel[] = [];
    let replay: ReplayCheck | null = null;
    for (const n of options.processes) {
      const perProcess = Math.max(1, Math.floor(options.totalConcurrency / n));
      const requestsEach = Math.ceil(options.requests / n);
      options.tick(`gateway replicas: ${n} gateway process(es), signing ${requestsEach * n} queries`);
      const files: string[] = [];
      for (let p = 0; p < n; p++) {
        const bodies: string[] = [];
        for (let i = 0; i < requestsEach; i++) bodies.push(JSON.stringify(await options.sign()));
        files.push(join(options.dir, `replica-bodies-${n}-${p}.jsonl`));
        writeFileSync(files[p], `${bodies.join("\n")}\n`);
      }
      const gateway = await withProcesses(options.root, gatewayConfig, n, options.cpuProfileDir, async (replicas) => {
        for (const replica of replicas) await warmUp(replica.url, options.sign);
        if (n > 1 && replay === null) replay = await checkReplay(replicas, options.sign);
        options.tick(`gateway replicas: autocannon against ${n} gateway process(es)`);
        return loadAll(options, replicas, files, perProcess);
      });
      const bare = await withProcesses(options.root, bareConfig, n, undefined, (servers) => {
        options.tick(`gateway replicas: autocannon against ${n} bare fastify process(es)`);
        return loadAll(options, servers, files, perProcess);
      });
      levels.push({
        processes: n,
        concurrencyPerProcess: perProcess,
        gateway,
        bare,
        ratio: gateway.okPerSecond / bare.okPerSecond,
      });
    }
    return {
      measured: true,
      reason: "",
      postgresSource: server.source,
      totalConcurrency: options.totalConcurrency,
      levels,
      replay,
    };
  } catch (error) {
    return { ...base, postgresSource: server.source, measured: false, reason: firstLine(error) };
  } finally {
    await server.stop();
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

async function warmUp(url: string, sign: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < WARMUP; i++) {
    const status = await post(url, await sign());
    if (status !== 200) throw new Error(`a replica answered a warm-up query with ${status}`);
  }
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

/** The report's blocks for the replica run (markdown paragraphs and tables). */
export function renderReplicas(
  part: ReplicaCapacity | undefined,
  table: (h: string[], rows: string[][]) => string,
): string[] {
  if (!part) return [];
  const out = ["### The gateway across several processes (issue 12)"];
  if (!part.measured) return [...out, `**Not measured**: ${part.reason}.`];
  out.push(
    "N gateway processes of one operator (each a full gateway on its own 127.0.0.1 port, serving the same twin's " +
      "data as the pipeline answered it, held in memory), sharing one PostgreSQL database for the nonce store and " +
      `the access log (${part.postgresSource === "embedded" ? "embedded-postgres started by the run" : "the server of DATABASE_URL"}). ` +
      `Each process is loaded by its own autocannon process, ${part.totalConcurrency} connections in all split evenly, ` +
      "with its own pre-signed queries (each with its own nonce, sent once), all at once; then N bare fastify " +
      "processes the same way. Allowed/s is all processes' 2xx answers over the longest run; p50 and p99 are the " +
      `highest of the processes'. The replicas accept queries up to ${REPLICA_FRESHNESS_SECONDS} s old (the ` +
      "default is 60 s), as the queries are all signed before the processes start. Everything (gateways, load generators, PostgreSQL, the node) shares the machine's " +
      "cores, so N = 2 on 2 cores also shares them with two load generators.",
    table(
      [
        "processes",
        "queries",
        "gateway: allowed/s",
        "p50 ms",
        "p99 ms",
        "refused or errors",
        "bare: answers/s",
        "p99 ms",
        "gateway / bare",
      ],
      part.levels.map((l) => [
        String(l.processes),
        l.gateway.requests.toLocaleString("en-US"),
        l.gateway.okPerSecond.toFixed(0),
        ms(l.gateway.p50Ms),
        ms(l.gateway.p99Ms),
        String(l.gateway.refusedOrErrors),
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
