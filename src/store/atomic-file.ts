import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Folders the stores create: owner only (0700), so file names (twin ids, content ids) are not listed by others. */
export const DIRECTORY_MODE = 0o700;

/** How {@link writeFileAtomic} writes. */
export interface AtomicWriteOptions {
  /** File mode of the new file. */
  readonly mode: number;
  /** Flush the file to disk before it is renamed into place. */
  readonly fsync: boolean;
}

/**
 * @internal Write a file so readers see either the old content or the whole new content:
 * write a temporary file next to it (same directory, hence same file system), optionally
 * fsync it, then rename it over the target. The temporary file is removed on failure.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE });
  let handle: FileHandle;
  try {
    handle = await open(temp, "wx", options.mode);
  } catch (error) {
    if (!isFsError(error, "ENOENT")) throw error;
    // an empty folder was removed concurrently (e.g. the last key of a record): recreate it once
    await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE });
    handle = await open(temp, "wx", options.mode);
  }
  try {
    try {
      await handle.writeFile(bytes);
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** @internal True for a Node file-system error with this code. */
export function isFsError(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? "");
}

/** One file of a {@link writeFilesAtomic} batch. */
export interface AtomicFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Files of a batch written (or renamed) at once: enough to keep the thread pool busy, few enough to bound memory. */
const BATCH_PARALLEL = 32;

/**
 * @internal Write many files so that each is either absent or whole, at the cost of one pass per step for the batch
 * instead of one round per file: every folder is created once, every file written to a temporary name beside it
 * (and, with `fsync`, flushed), then every temporary file renamed into place, then (with `fsync`) every folder
 * flushed once so the renames are durable. A failure removes the temporary files not yet renamed and rethrows;
 * files already renamed stay (each is complete), and the caller undoes them if it must.
 */
export async function writeFilesAtomic(files: readonly AtomicFile[], options: AtomicWriteOptions): Promise<void> {
  const dirs = [...new Set(files.map((file) => dirname(file.path)))];
  await eachLimit(dirs, (dir) => mkdir(dir, { recursive: true, mode: DIRECTORY_MODE }));
  const suffix = `.${randomBytes(6).toString("hex")}.tmp`;
  const temps = files.map((file) => join(dirname(file.path), `.${basename(file.path)}${suffix}`));
  const written: boolean[] = new Array<boolean>(files.length).fill(false);
  const renamed: boolean[] = new Array<boolean>(files.length).fill(false);
  try {
    await eachLimit(files, async (file, i) => {
      const handle = await open(temps[i], "wx", options.mode);
      written[i] = true;
      try {
        await handle.writeFile(file.bytes);
        if (options.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
    });
    await eachLimit(files, async (file, i) => {
      await rename(temps[i], file.path);
      renamed[i] = true;
    });
    if (options.fsync) await eachLimit(dirs, syncDirectory);
  } catch (error) {
    await eachLimit(temps, async (temp, i) => {
      if (written[i] && !renamed[i]) await unlink(temp).catch(() => undefined);
    });
    throw error;
  }
}

/** @internal Flush a folder's entries (the renames into it) to disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Run `action` on every item, {@link BATCH_PARALLEL} at a time; rejects with the first error once all settled. */
async function eachLimit<T>(items: readonly T[], action: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await action(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_PARALLEL, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
