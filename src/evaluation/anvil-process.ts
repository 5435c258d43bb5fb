import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort, type LocalNode } from "./node-process";

/**
 * An `anvil` (Foundry's node, from the `@foundry-rs/anvil` npm package) on 127.0.0.1, started and stopped like
 * `startLocalNode` starts `hardhat node`: its own process group (detached), so stopping it kills anvil and nothing
 * else. Anvil answers JSON-RPC more like production endpoints than Hardhat's in-process network (issue 12, "The
 * chain"), and can reorganize its chain on demand (`anvil_reorg`).
 */
export interface AnvilNode extends LocalNode {
  /** The folder anvil writes the states of past blocks to (its `--cache-path`); removed when it stops. */
  readonly statesFolder: string;
  /** `anvil_reorg`: replaces the last `depth` blocks with as many new ones, holding `transactions` (each with its
   * block offset in the new blocks, 0-based). */
  reorg(depth: number, transactions?: readonly (readonly [AnvilTransaction, number])[]): Promise<void>;
}

/** A transaction request as anvil takes it (the sender is one of its unlocked accounts). */
export interface AnvilTransaction {
  readonly from: string;
  readonly to: string;
  readonly data?: string;
  readonly value?: string;
}

export interface AnvilOptions {
  /** Unlocked accounts of the test mnemonic (Hardhat's). Default 20, as `hardhat node` has. */
  readonly accounts?: number;
  /** Milliseconds to wait for the first answer. Default 30,000. */
  readonly timeoutMs?: number;
  /**
   * Keep only the states of the last `pruneHistory` blocks, in memory (anvil's `--prune-history`): nothing written
   * to disk, and calls at older blocks refused. Omitted: anvil's default (every state kept, the older ones written to
   * its cache folder as the chain grows).
   */
  readonly pruneHistory?: number;
}

/** The anvils started here, each with the folder its persisted states go to (removed when it stops). */
const running = new Map<ChildProcess, string>();
let exitHandlerInstalled = false;

/** The anvil binary of the platform package, or null when it is not installed. */
export function anvilBinary(): string | null {
  try {
    const pkg = require.resolve(
      `@foundry-rs/anvil-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}/package.json`,
    );
    const binary = join(dirname(pkg), "bin", "anvil");
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Kills every anvil this process started, synchronously: for signal and exit handlers. */
export function killAllAnvils(): void {
  for (const child of [...running.keys()]) {
    killGroup(child, "SIGKILL");
    forget(child);
  }
}

/** Drops a stopped (or killed) anvil from `running` and removes its states folder. */
function forget(child: ChildProcess): void {
  const cachePath = running.get(child);
  running.delete(child);
  if (cachePath !== undefined) rmSync(cachePath, { recursive: true, force: true });
}

/**
 * Spawns anvil on a free port of 127.0.0.1 (chain id 31337, Hardhat's accounts, automining) and waits until it
 * answers. Rejects, with anvil killed, if it exits or does not answer in time.
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const binary = anvilBinary();
  if (binary === null) throw new Error("anvil is not installed (@foundry-rs/anvil and its platform package)");
  if (!exitHandlerInstalled) {
    // Started anvils die with this process, whatever the way out (the evaluation's signal handlers exit).
    process.once("exit", killAllAnvils);
    exitHandlerInstalled = true;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  // Anvil writes the states of past blocks it no longer keeps in memory to a cache folder, ~/.foundry/anvil/tmp by
  // default, and leaves it there when killed: a 1,000-twin run left gigabytes behind each time. Each anvil started
  // here gets its own folder, removed when it stops.
  const cachePath = mkdtempSync(join(tmpdir(), "twinledger-anvil-states-"));
  const args = ["--host", "127.0.0.1", "--port", String(port), "--accounts", String(options.accounts ?? 20)];
  if (options.pruneHistory !== undefined) args.push("--prune-history", String(options.pruneHistory));
  const child = spawn(binary, [...args, "--chain-id", "31337", "--silent", "--cache-path", cachePath], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.set(child, cachePath);
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
    forget(child);
  };
  const reorg: AnvilNode["reorg"] = async (depth, transactions = []) => {
    await rpc(url, "anvil_reorg", [depth, transactions.map(([tx, offset]) => [tx, offset])]);
  };

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      forget(child);
      throw new Error(`anvil exited before answering: ${output.trim().split("\n").slice(-3).join(" | ")}`);
    }
    try {
      await rpc(url, "eth_chainId");
      return {
        url,
        port,
        pid: child.pid ?? 0,
        startupSeconds: (performance.now() - started) / 1000,
        statesFolder: cachePath,
        stop,
        reorg,
      };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await stop();
  throw new Error(`anvil did not answer on ${url} in time`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? "error"}`);
  return body.result;
}
