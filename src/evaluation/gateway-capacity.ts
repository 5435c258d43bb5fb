import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Fastify from "fastify";
import type { AutocannonOptions, AutocannonResult } from "./autocannon-load";

const execFileAsync = promisify(execFile);

/** One concurrency level measured with autocannon: the gateway beside a bare fastify handler, in the same run. */
export interface CapacityLevel {
  readonly concurrency: number;
  readonly gateway: AutocannonResult;
  readonly bare: AutocannonResult;
  /** Gateway allowed queries/s over the bare handler's answers/s. */
  readonly ratio: number;
}

export interface CapacityOptions {
  readonly root: string;
  /** Where the bodies files go (a temporary folder of the run). */
  readonly dir: string;
  readonly gatewayUrl: string;
  readonly concurrencies: readonly number[];
  /** Pre-signed queries per level (each sent once). */
  readonly requests: number;
  readonly timeoutMs: number;
  /** Signs one query body for the gateway (its own nonce, a fresh issuedAt). */
  readonly sign: () => Promise<unknown>;
  readonly tick: (what: string) => void;
}

/**
 * The gateway's capacity as a load generator measures a server (issue 12): for each concurrency, `requests` queries
 * signed before the clock starts are POSTed by autocannon (its own process) to the gateway, then the same number of
 * bodies to a bare fastify handler on the same machine (parse the JSON, answer a small JSON), so the gateway's
 * throughput is given as a ratio to what the server framework alone does here.
 */
export async function measureCapacity(options: CapacityOptions): Promise<CapacityLevel[]> {
  const bare = Fastify({ logger: false });
  bare.post("/v1/query", async (request) => ({ ok: true, size: JSON.stringify(request.body).length }));
  const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });
  try {
    const levels: CapacityLevel[] = [];
    for (const concurrency of options.concurrencies) {
      options.tick(`gateway: concurrency ${concurrency}, signing ${options.requests} queries for autocannon`);
      const bodies: string[] = [];
      for (let i = 0; i < options.requests; i++) bodies.push(JSON.stringify(await options.sign()));
      const file = join(options.dir, `bodies-${concurrency}.jsonl`);
      writeFileSync(file, `${bodies.join("\n")}\n`);
      options.tick(`gateway: concurrency ${concurrency}, autocannon against the gateway`);
      const gateway = await runAutocannonProcess(options, {
        url: `${options.gatewayUrl}/v1/query`,
        bodiesFile: file,
        concurrency,
      });
      options.tick(`gateway: concurrency ${concurrency}, autocannon against a bare fastify handler`);
      const bareRun = await runAutocannonProcess(options, {
        url: `${bareUrl}/v1/query`,
        bodiesFile: file,
        concurrency,
      });
      levels.push({ concurrency, gateway, bare: bareRun, ratio: gateway.okPerSecond / bareRun.okPerSecond });
    }
    return levels;
  } finally {
    await bare.close();
  }
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
