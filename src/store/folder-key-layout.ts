import { createHmac, randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { DIRECTORY_MODE, isFsError } from "./atomic-file";
import { parseCid } from "./cid";
import { StoreError } from "./errors";
import { normalizeReader, normalizeTwinId } from "./key-store";

/** @internal Names and small helpers of the folder key store's layout (see `FolderKeyStore`). */

export const SECRET_FILE = ".store-key";
export const SECRET_BYTES = 32;
export const ERASED_FILE = "ERASED.json";
export const KEY_SUFFIX = ".wkey";
export const PACKS_DIR = "packs";
export const KEY_PACK_SUFFIX = ".wkpack";
/** Opaque names: HMAC-SHA-256 truncated to 128 bits, 32 hex digits (so they never look like a 64-digit twin id). */
const NAME_HEX = 32;
export const OPAQUE_DIR = /^[0-9a-f]{32}$/;
export const OPAQUE_KEY_FILE = /^[0-9a-f]{32}\.wkey$/;

/** An opaque file name: HMAC-SHA-256 of `message` under the store secret, {@link NAME_HEX} hex digits. */
export function opaqueName(secret: Uint8Array, message: string): string {
  // node's HMAC-SHA-256 (OpenSSL): the same bytes as noble's, several times faster for a batch of keys
  return createHmac("sha256", secret).update(message, "utf8").digest("hex").slice(0, NAME_HEX);
}

/** The erasure time in an erasure record; a damaged record still means the twin is erased. */
export function parseErasure(text: string): string {
  try {
    const { erasedAt } = JSON.parse(text) as { erasedAt?: unknown };
    if (typeof erasedAt === "string") return erasedAt;
  } catch {
    // fall through
  }
  return "unknown time (damaged erasure record)";
}

/** Run a file-system action; its failure becomes `STORE_IO` saying `what` (a StoreError passes through). */
export async function io<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (cause) {
    if (cause instanceof StoreError) throw cause;
    throw new StoreError("STORE_IO", what, { cause });
  }
}

/**
 * The store secret: read from `.store-key`, or created on first use. Creation writes a temporary file and hard-links
 * it into place, so concurrent openers agree on one secret and no one reads a half-written file. A missing secret
 * while opaque folders exist is refused (`STORE_IO`): a new one would orphan them.
 */
export async function loadStoreSecret(
  root: string,
  fsync: boolean,
  list: (dir: string) => Promise<string[]>,
): Promise<Uint8Array> {
  const path = join(root, SECRET_FILE);
  const read = async (): Promise<Uint8Array | undefined> => {
    try {
      const bytes = await readFile(path);
      if (bytes.length !== SECRET_BYTES) throw new StoreError("STORE_IO", `the key store's ${SECRET_FILE} is damaged`);
      return new Uint8Array(bytes);
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return undefined;
      if (cause instanceof StoreError) throw cause;
      throw new StoreError("STORE_IO", `cannot read the key store's ${SECRET_FILE}`, { cause });
    }
  };
  const existing = await read();
  if (existing) return existing;
  const what = `cannot create the key store's ${SECRET_FILE}`;
  await io(what, () => mkdir(root, { recursive: true, mode: DIRECTORY_MODE }));
  if ((await list(root)).some((name) => OPAQUE_DIR.test(name))) {
    throw new StoreError("STORE_IO", `the key store's ${SECRET_FILE} is missing but opaque key folders exist`);
  }
  const temp = join(root, `${SECRET_FILE}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await io(what, async () => {
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(randomBytes(SECRET_BYTES));
        if (fsync) await handle.sync();
      } finally {
        await handle.close();
      }
    });
    await link(temp, path).catch((cause: unknown) => {
      if (!isFsError(cause, "EEXIST")) throw new StoreError("STORE_IO", what, { cause }); // else: another opener won
    });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const created = await read();
  if (!created) throw new StoreError("STORE_IO", what);
  return created;
}

/** The checks of a batch's entries (as `normalizeEntry`), each distinct twin, content id and reader checked once. */
export function batchChecks(): { twin(id: string): string; cid(cid: string): string; reader(reader: string): string } {
  const twins = new Map<string, string>();
  const cids = new Set<string>();
  const readers = new Map<string, string>();
  return {
    twin(id) {
      let twinId = twins.get(id);
      if (twinId === undefined) twins.set(id, (twinId = normalizeTwinId(id)));
      return twinId;
    },
    cid(cid) {
      if (!cids.has(cid)) {
        parseCid(cid);
        cids.add(cid);
      }
      return cid;
    },
    reader(address) {
      let reader = readers.get(address);
      if (reader === undefined) readers.set(address, (reader = normalizeReader(address)));
      return reader;
    },
  };
}
