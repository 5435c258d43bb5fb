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
