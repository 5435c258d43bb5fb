/**
 * `npm run profile:gateway [-- --concurrency 10 --requests 15000 --out file.cpuprofile --top 25]`: the evaluation's
 * autocannon capacity run alone (part 4, issue 12: the gateway in this process over a pipeline holding a twin with
 * an EMR bundle and a day of one-minute readings, `latest-vitals` queries signed beforehand, autocannon in its own
 * process, `hardhat node` for the chain), with a V8 CPU profile of the measured gateway run only. Prints the run's
 * figures and where the gateway's thread spent its samples (by function and by area); the profile opens in Chrome's
 * DevTools (Performance) or any `.cpuprofile` viewer. Profile before you change: the shares say what a query costs.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  areaShares,
  selfTimeShares,
  withCpuProfile,
  type CpuProfile,
  type ProfileShare,
} from "../src/evaluation/cpu-profile";
import { measureGateway } from "../src/evaluation/gateway";
import { setUpRpc } from "../src/evaluation/network";
import { killAllNodes, startLocalNode } from "../src/evaluation/node-process";
import { planFor, SEED } from "../src/evaluation/run";

const USAGE = `npm run profile:gateway -- [--concurrency N] [--requests N] [--out FILE] [--top N]
  --concurrency  autocannon connections (default 10)
  --requests     pre-signed queries of the measured run, at least (default 15000, as the full evaluation)
  --out          where the .cpuprofile goes (default: gateway-<time>.cpuprofile in the system's temporary folder)
  --top          functions and areas listed (default 25)`;

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

function table(title: string, shares: readonly ProfileShare[]): string {
  const lines = shares.map(({ name, share }) => `${(share * 100).toFixed(1).padStart(6)}%  ${name}`);
  return [title, ...lines].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: "string" },
      requests: { type: "string" },
      out: { type: "string" },
      top: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const concurrency = positive(values.concurrency, 10, "concurrency");
  const requests = positive(values.requests, 15_000, "requests");
  const top = positive(values.top, 25, "top");
  const out = resolve(values.out ?? join(tmpdir(), `gateway-${Date.now()}.cpuprofile`));
  const plan = planFor("full");
  const root = resolve(__dirname, "..");

  const node = await startLocalNode(root);
  let profile: CpuProfile | undefined;
  try {
    const ctx = await setUpRpc(node.url);
    const part = await measureGateway(
      root,
      ctx,
      {
        concurrencies: [],
        requests: plan.gatewayRequests,
        warmup: plan.gatewayWarmup,
        timeoutMs: plan.gatewayTimeoutMs,
        cohortSeed: SEED,
        readingIntervalSeconds: plan.gatewayReadingInterval,
        capacity: {
          concurrencies: [concurrency],
          requests,
          aroundGatewayRun: async (run) => {
            const profiled = await withCpuProfile(run);
            profile = profiled.profile;
            return profiled.result;
          },
        },
      },
      (what) => console.error(`… ${what}`),
    );
    ctx.provider.destroy();
    if (!part.measured) throw new Error(`the gateway was not measured: ${part.reason}`);
    for (const level of part.autocannon ?? []) {
      const { gateway, bare } = level;
      console.log(
        `concurrency ${level.concurrency}: ${gateway.okPerSecond.toFixed(0)} allowed queries/s, ` +
          `p99 ${gateway.latencyMs.p99} ms, ${level.cpuMsPerQuery?.toFixed(3) ?? "?"} ms of CPU a query ` +
          `(profiler on), bare fastify ${bare.okPerSecond.toFixed(0)}/s`,
      );
    }
  } finally {
    await node.stop();
  }
  if (profile === undefined) throw new Error("no measured gateway run was profiled");
  writeFileSync(out, JSON.stringify(profile));
  console.log(`\n${table("self time by function:", selfTimeShares(profile, top))}`);
  console.log(`\n${table("self time by area:", areaShares(profile, top))}`);
  console.log(`\nprofile: ${out}`);
}

process.once("exit", killAllNodes);
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
