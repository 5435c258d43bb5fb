import { SingleBar, Presets } from "cli-progress";

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/**
 * Prints a task's answer on stdout: `data` as JSON with `--json` (for scripts), else the human-readable lines.
 * Returns `data`, which is also what `hre.run(task)` resolves with.
 */
export function report<T>(args: { readonly json: boolean }, data: T, human: (data: T) => readonly string[]): T {
  const text = args.json ? toJson(data) : human(data).join("\n");
  process.stdout.write(text + "\n");
  return data;
}

/** Aligned `label: value` lines. */
export function table(rows: readonly (readonly [string, unknown])[]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${String(value)}`);
}

export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr for long work (event scans, index syncs, proof checks), shown only on a terminal and
 * never with `--json`, so that piped output stays clean.
 */
export function progress(args: { readonly json: boolean }, total: number, label: string): Progress {
  if (args.json || !process.stderr.isTTY || total <= 1) return { increment: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { increment: (by = 1) => bar.increment(by), stop: () => bar.stop() };
}
