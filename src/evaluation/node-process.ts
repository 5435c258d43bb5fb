import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A `npx hardhat node` on 127.0.0.1, started and stopped by the evaluation. The node runs in its own process
 * group (detached), so stopping it kills npx, hardhat and anything they started, and nothing else.
 */
export interface LocalNode {
  readonly url: string;
  readonly port: number;
  /** The spawned process's id, which is also its process group's (detached). */
  readonly pid: number;
  /** Seconds from spawn until the node answered eth_chainId. */
  readonly startupSeconds: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

/** A free TCP port on 127.0.0.1, as the OS hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Kills every node this process started (its process group), synchronously: for signal and exit handlers. */
export function killAllNodes(): void {
  for (const child of running) killGroup(child, "SIGKILL");
  running.clear();
}

/** Clock ticks a second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on every Linux this runs on). */
const USER_HZ = 100;

/**
 * CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat (to 10 ms); null where /proc cannot
 * tell (not Linux, or the process is gone).
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : null;
  } catch {
    return null;
  }
}

/**
 * This process's peak RSS, MB: VmHWM of /proc/self/status, the high-water mark of this process's own memory since its
 * exec. Not `process.resourceUsage().maxRSS`: on Linux that survives fork and exec, so a child started by a large parent
 * (the evaluation, 1.3 GB by part 6) reports at least the parent's RSS at the fork. Where /proc cannot tell (not
 * Linux), maxRSS.
 */
export function processPeakRssMb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * The peak RSS of a process group (VmHWM of /proc/<pid>/status, summed over the group's live processes), MB: what a
 * node started here (npx, hardhat, or anvil alone) held at most. Null where /proc cannot tell (not Linux, gone).
 */
export function groupPeakRssMb(pgid: number): number | null {
  let kb = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ')'
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (hwm) {
        kb += Number(hwm[1]);
        found = true;
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return found ? kb / 1024 : null;
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? "error"}`);
  return body.result;
}

/**
 * Spawns `npx hardhat node --port <free port> --hostname 127.0.0.1` in `cwd` and waits until it answers
 * (at most `timeoutMs`). Rejects, with the node killed, if it exits or does not answer in time.
 */
export async function startLocalNode(cwd: string, timeoutMs = 120_000): Promise<LocalNode> {
  if (!exitHandlerInstalled) {
    // Started nodes die with this process, whatever the way out (the evaluation's signal handlers exit).
    process.once("exit", killAllNodes);
    exitHandlerInstalled = true;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn("npx", ["hardhat", "node", "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, REPORT_GAS: "false" },
  });
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async (): Promise<void> => {
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
    running.delete(child);
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      throw new Error(`hardhat node exited before answering: ${output.trim().split("\n").slice(-5).join(" | ")}`);
    }
    try {
      await rpc(url, "eth_chainId");
      return { url, port, pid: child.pid ?? 0, startupSeconds: (performance.now() - started) / 1000, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await stop();
  throw new Error(`hardhat node did not answer on ${url} within ${timeoutMs / 1000} s`);
}
