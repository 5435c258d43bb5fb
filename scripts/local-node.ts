/**
 * A development node in a child process on a free port of 127.0.0.1: `hardhat node` (this project's Hardhat) or anvil
 * (the binary from @foundry-rs/anvil's platform package). Bounded: `startLocalNode` gives up after `timeoutMs`, and
 * `stop()` ends the child (SIGTERM, then SIGKILL) and waits for it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

export type LocalNodeKind = "hardhat" | "anvil";

export interface LocalNode {
  readonly kind: LocalNodeKind;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, "..");

/** A port the system has just said is free. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The anvil binary of this platform's @foundry-rs package. */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
  return path.join(path.dirname(pkg), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

export interface LocalNodeOptions {
  /** How long to wait for the node to answer; default 60 s. */
  readonly timeoutMs?: number;
  /** anvil only (Hardhat's is 31337). */
  readonly chainId?: number;
  /** More command-line arguments, e.g. anvil's `--disable-default-create2-deployer`. */
  readonly args?: readonly string[];
}

function command(kind: LocalNodeKind, port: number, options: LocalNodeOptions): [string, string[]] {
  const extra = options.args ?? [];
  if (kind === "anvil") {
    const args = ["--host", "127.0.0.1", "--port", String(port), "--silent", ...extra];
    return [anvilBinary(), options.chainId ? [...args, "--chain-id", String(options.chainId)] : args];
  }
  const cli = require.resolve("hardhat/internal/cli/cli.js", { paths: [ROOT] });
  return [process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port), ...extra]];
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a node and resolves once it answers JSON-RPC. */
export async function startLocalNode(kind: LocalNodeKind, options: LocalNodeOptions = {}): Promise<LocalNode> {
  const port = await freePort();
  const [file, args] = command(kind, port, options);
  const child = spawn(file, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    child.kill("SIGTERM");
    if (!(await exited(child, 5_000))) {
      child.kill("SIGKILL");
      await exited(child, 5_000);
    }
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} node did not answer on ${url}: ${stderr.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { kind, url, pid: child.pid!, stop };
}
