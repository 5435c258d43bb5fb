import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { twinFixture } from "../fixtures";

/** What a task printed on stdout and resolved with. */
export interface TaskRun<T = unknown> {
  readonly result: T;
  readonly out: string;
}

/** Runs a task in-process (`hre.run`), capturing what it prints on stdout. */
export async function runTask<T = Record<string, unknown>>(
  name: string,
  args: Record<string, unknown>,
): Promise<TaskRun<T>> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
  try {
    const result = (await hre.run(name, args)) as T;
    return { result, out: chunks.join("") };
  } finally {
    process.stdout.write = write;
  }
}

/** Starts a long-running task (gateway:start, index:sync --follow); `output()` is what it printed so far. */
export function startTask(name: string, args: Record<string, unknown>): { done: Promise<unknown>; output(): string } {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
  const done = hre.run(name, args).finally(() => (process.stdout.write = write));
  return { done, output: () => chunks.join("") };
}

/** Runs a task that must fail; resolves with the error's message. */
export async function taskError(name: string, args: Record<string, unknown>): Promise<string> {
  try {
    await runTask(name, args);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${name} was expected to fail`);
}

/** The fixture's twin, plus the flags that point the tasks at its contracts. */
export async function taskFixture() {
  const f = await twinFixture();
  const flags = {
    registry: await f.registry.getAddress(),
    consent: await f.consent.getAddress(),
    log: await f.updateLog.getAddress(),
  };
  return { ...f, flags };
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `twinledger-${label}-`));
}

/** The index of an account among the network's accounts, for `--from`. */
export async function indexOf(address: string): Promise<string> {
  const signers = await hre.ethers.getSigners();
  return String(signers.findIndex((s) => s.address === address));
}
