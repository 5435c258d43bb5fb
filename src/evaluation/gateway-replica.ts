import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { JsonRpcProvider } from "ethers";
import { bareHandler } from "./gateway-capacity";
import { JsonTwinData, type ReplicaTwin } from "./json-twin-data";

/**
 * One server process of the replica capacity run (issue 12): `node -r ts-node/register/transpile-only
 * gateway-replica.ts <config.json>` serves, on its own free port of 127.0.0.1, either a full gateway (createGateway,
 * its access log and nonces in the PostgreSQL database of the config, the chain read over the node's JSON-RPC, one
 * twin's data as the pipeline answered it, held in memory and served for every twin of the run) or a bare fastify handler (parse the JSON, answer a small
 * JSON) to compare with; prints `{"url": ...}` once listening and closes on SIGTERM.
 */
export interface ReplicaConfig {
  readonly kind: "gateway" | "bare";
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly consent: string;
  readonly registry: string;
  readonly operator: string;
  /** The origin every replica shares (the signed audience). */
  readonly origin: string;
  /** The shared PostgreSQL database; omitted: the SQLite file `dbPath` (shared by the processes, WAL). */
  readonly databaseUrl?: string;
  readonly dbPath?: string;
  /** The data every twin is answered with. */
  readonly twin: ReplicaTwin;
  /** More twins answered with `twin`'s data (each registered and granted on chain); default none. */
  readonly twinIds?: readonly string[];
}

export interface ReplicaProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Stops the process (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 90_000;
/** The replicas' freshness window, seconds (the gateway's default is 60). */
export const REPLICA_FRESHNESS_SECONDS = 600;

/** Starts one server process from a config file; resolves once it listens. `cpuProfileDir`: `--cpu-prof` into it. */
export async function startReplica(root: string, configPath: string, cpuProfileDir?: string): Promise<ReplicaProcess> {
  const profile = cpuProfileDir !== undefined ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, "-r", "ts-node/register/transpile-only", join(__dirname, "gateway-replica.ts"), configPath],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`a replica did not start: ${stderr.split("\n")[0]}`));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`a replica exited (${code}): ${stderr.split("\n")[0]}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return { child, url, stop };
}

interface Closable {
  listen(): Promise<string>;
  close(): Promise<void>;
}

async function serve(config: ReplicaConfig): Promise<Closable> {
  if (config.kind === "bare") {
    const bare = bareHandler();
    return {
      listen: () => bare.listen({ host: "127.0.0.1", port: 0 }),
      close: () => bare.close(),
    };
  }
  const { createGateway } = await import("../service");
  const { ConsentPolicy__factory, TwinRegistry__factory } = await import("../../typechain-types");
  const provider = new JsonRpcProvider(config.rpcUrl, config.chainId, { staticNetwork: true });
  const gateway = createGateway({
    data: new JsonTwinData(config.twin, config.twinIds),
    consent: ConsentPolicy__factory.connect(config.consent, provider),
    registry: TwinRegistry__factory.connect(config.registry, provider),
    chainId: BigInt(config.chainId),
    dbPath: config.dbPath ?? ":memory:",
    ...(config.databaseUrl !== undefined && { databaseUrl: config.databaseUrl }),
    host: "127.0.0.1",
    operator: config.operator,
    origin: config.origin,
    limits: { perAddress: false, perSigner: false },
    // Queries are signed before the processes start and the load runs; a slow machine must not make them stale.
    freshnessSeconds: REPLICA_FRESHNESS_SECONDS,
  });
  return { listen: () => gateway.listen(), close: () => gateway.close() };
}

async function main(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as ReplicaConfig;
  const server = await serve(config);
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once("SIGTERM", () => {
    // process.exit (not a signal death) so that --cpu-prof writes its profile
    void server.close().finally(() => process.exit(0));
  });
}

if (require.main === module) {
  main(process.argv[2]).catch((error: unknown) => {
    process.stderr.write(`replica failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
