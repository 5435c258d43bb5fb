import { randomBytes } from "node:crypto";
import { open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isFsError } from "./atomic-file";

/**
 * @internal What the blob and key packs share: random names, the listing of a pack folder, positioned reads, and
 * the lock a rewrite takes. A pack is written once (atomically, under a new name) and never modified in place: a
 * rewrite (a blob deleted, a key revoked) writes a new pack under a new name and then deletes the old one, so a
 * reader holding an old index finds the old file gone (ENOENT) and rescans, never reads shifted bytes.
 */

/** A new pack's name: 128 random bits as 32 hex digits (names reveal nothing of their content). */
export function newPackName(): string {
  return randomBytes(16).toString("hex");
}

/** The packs of a folder (names without the suffix), skipping temporary and lock files (dot-prefixed). */
export async function listPacks(dir: string, suffix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isFsError(error, "ENOENT")) return [];
    throw error;
  }
  return names
    .filter((name) => !name.startsWith(".") && name.endsWith(suffix))
    .map((name) => name.slice(0, -suffix.length));
}

/** `length` bytes at `offset` of a file (fewer when the file is shorter: a truncated pack). ENOENT propagates. */
export async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(buffer, read, length - read, offset + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buffer.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/** The size of a file. ENOENT propagates. */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** How long a rewrite waits for another one on the same pack, and when a lock counts as left by a crash. */
const LOCK_RETRY_MS = 10;
const LOCK_WAIT_MS = 5_000;
const LOCK_STALE_MS = 30_000;

/** The error when a pack's lock cannot be taken in time. */
export class PackLockTimeout extends Error {
  constructor() {
    super("a pack is being rewritten by another process");
  }
}

/**
 * Run `action` holding the rewrite lock of a pack (`.<name>.lock` beside it, created exclusively), so that two
 * processes removing different entries of one pack do not each write a copy that still holds the other's entry.
 * A lock older than 30 s is taken to be left by a crash and removed. Throws {@link PackLockTimeout} after 5 s.
 */
export async function withPackLock<T>(dir: string, name: string, action: () => Promise<T>): Promise<T> {
  const lock = join(dir, `.${name}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, "wx", 0o600)).close();
      break;
    } catch (error) {
      if (!isFsError(error, "EEXIST")) throw error;
      const age = await stat(lock).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await unlink(lock).catch(() => undefined);
      else if (Date.now() > deadline) throw new PackLockTimeout();
      else await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
  }
  try {
    return await action();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

/** The shape of every content id a store accepts (CIDv1 raw sha2-256 base32, see `parseCid`): checks a pack's index. */
export const CID_SHAPE = /^bafkrei[a-z2-7]{52}$/;

/**
 * Overwrite byte ranges of a pack with zeros (what a delete or a revocation leaves of an entry), flush them with
 * `fsync`, then rename the pack to `renamed`: other processes holding its old name see it gone and reload it.
 */
export async function zeroRangesAndRename(
  path: string,
  ranges: readonly { offset: number; length: number }[],
  renamed: string,
  fsync: boolean,
): Promise<void> {
  const handle = await open(path, "r+");
  try {
    for (const { offset, length } of ranges) await handle.write(Buffer.alloc(length), 0, length, offset);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(path, renamed);
}
