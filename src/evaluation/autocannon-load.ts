import { readFileSync } from "node:fs";
import autocannon from "autocannon";

/**
 * A load generator's view of a server (issue 12's benchmark): autocannon, run in its own Node process (`node -r
 * ts-node/register/transpile-only autocannon-load.ts '<json options>'`), POSTs pre-signed bodies (each used once,
 * so no query is a replay) over `concurrency` keep-alive connections and prints one JSON line of what it measured.
 * Node's fetch tops out near 2,200 requests/s on this machine even against a bare handler; autocannon does not, so
 * it is the tool for a server's capacity, and the same tool measures the bare fastify handler that the gateway's
 * throughput is reported against.
 */
export interface AutocannonOptions {
  readonly url: string;
  /** A file of request bodies, one JSON document a line; each is sent once (unless `amount` asks for more). */
  readonly bodiesFile: string;
  /** Requests to send; default one per body. Past the bodies they are sent again, in order (for a bare handler). */
  readonly amount?: number;
  readonly concurrency: number;
  /** Bound on the run, in seconds. */
  readonly timeoutSeconds: number;
}

export interface AutocannonResult {
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  /** Answers with a 2xx status per second. */
  readonly okPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

const LOCAL = /^http:\/\/127\.0\.0\.1:\d+\//;

export async function runAutocannon(options: AutocannonOptions): Promise<AutocannonResult> {
  if (!LOCAL.test(options.url)) throw new Error("the load generator talks to 127.0.0.1 only");
  const bodies = readFileSync(options.bodiesFile, "utf8").split("\n").filter(Boolean);
  let next = 0;
  const started = performance.now();
  const result = await autocannon({
    url: options.url,
    connections: options.concurrency,
    amount: options.amount ?? bodies.length,
    timeout: 10,
    duration: options.timeoutSeconds,
    // autocannon checks for the end of a run once a sample interval (1 s by default), so a run of `amount` requests
    // is rounded up to whole seconds and its throughput understated (1,000 requests in 0.13 s read as 1.01 s):
    // a 10-ms interval bounds that error at 10 ms.
    sampleInt: 10,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  return resultOf(result, (performance.now() - started) / 1000);
}

/** What autocannon reports, as this module reports it: 2xx answers per second of autocannon's own run time. */
export function resultOf(result: autocannon.Result, wallSeconds: number): AutocannonResult {
  // autocannon's duration (seconds, 10-ms steps) excludes its start-up; the wall time measured around it is the
  // fallback when it is missing.
  const seconds = result.duration > 0 ? result.duration : wallSeconds;
  const ok = result["2xx"];
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds,
    okPerSecond: ok / seconds,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

if (require.main === module) {
  runAutocannon(JSON.parse(process.argv[2] ?? "{}") as AutocannonOptions)
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
