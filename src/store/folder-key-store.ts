import { readdir, readFile, rm, rmdir, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { getAddress } from "ethers";
import { isFsError, writeFileAtomic } from "./atomic-file";
import { parseCid } from "./cid";
import { StoreError } from "./errors";
import {
  normalizeEntry,
  normalizeRef,
  normalizeTwinId,
  twinErased,
  type ErasureReceipt,
  type KeyStore,
  type WrappedKeyEntry,
  type WrappedKeyRef,
} from "./key-store";

/** Options of {@link FolderKeyStore}. */
export interface FolderKeyStoreOptions {
  /** Flush each key file and the erasure record to disk (default true). */
  readonly fsync?: boolean;
}

const ERASED_FILE = "ERASED.json";
const KEY_SUFFIX = ".wkey";
const KEY_FILE = /^0x[0-9a-f]{40}\.wkey$/;

/**
 * A {@link KeyStore} in a folder, one file per wrapped key:
 *
 * ```
 * <root>/<twin id, 64 hex>/records/<record cid>/<reader address, lowercase>.wkey   (87 bytes)
 * <root>/<twin id, 64 hex>/ERASED.json   {"twinId","erasedAt"}, written when the twin is erased
 * ```
 *
 * Files are written atomically with mode 0600. Erasure writes `ERASED.json` first, then
 * deletes the key files: a crash in between still reads as erased, and repeating the call
 * finishes the deletion. A `put` racing an erasure re-checks after writing and removes its own
 * file, so no key survives an erasure.
 *
 * @dev Deleting a file does not scrub it from the disk (journals, SSD remapping, backups).
 * What makes erasure hold is that the data keys exist only wrapped; put this folder on
 * encrypted storage and keep it out of backups that outlive the retention policy.
 */
export class FolderKeyStore implements KeyStore {
  /** Absolute path of the root folder. */
  readonly root: string;
  readonly #fsync: boolean;

  constructor(root: string, options: FolderKeyStoreOptions = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
  }

  async put(entry: WrappedKeyEntry): Promise<void> {
    const { twinId, recordCid, reader, wrappedKey } = normalizeEntry(entry);
    await this.#refuseIfErased(twinId);
    const path = this.#keyPath(twinId, recordCid, reader);
    await io(`cannot write the wrapped key of record ${recordCid} for ${reader}`, () =>
      writeFileAtomic(path, wrappedKey, { mode: 0o600, fsync: this.#fsync }),
    );
    const erased = await this.#readErasure(twinId);
    if (erased) {
      await unlink(path).catch(() => undefined);
      throw twinErased(twinId, erased.erasedAt);
    }
  }

  async get(ref: WrappedKeyRef): Promise<Uint8Array> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#refuseIfErased(twinId);
    try {
      const bytes = await readFile(this.#keyPath(twinId, recordCid, reader));
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) {
        await this.#refuseIfErased(twinId); // erased while we were reading
        throw new StoreError("KEY_NOT_FOUND", `no wrapped key for record ${recordCid} and reader ${reader}`);
      }
      throw new StoreError("STORE_IO", `cannot read the wrapped key of record ${recordCid} for ${reader}`, { cause });
    }
  }

  async has(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    if (await this.#readErasure(twinId)) return false;
    try {
      return (await stat(this.#keyPath(twinId, recordCid, reader))).isFile();
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return false;
      throw new StoreError("STORE_IO", `cannot stat the wrapped key of record ${recordCid} for ${reader}`, { cause });
    }
  }

  async remove(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    try {
      await unlink(this.#keyPath(twinId, recordCid, reader));
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return false;
      throw new StoreError("STORE_IO", `cannot remove the wrapped key of record ${recordCid} for ${reader}`, {
        cause,
      });
    }
    await rmdir(this.#recordDir(twinId, recordCid)).catch(() => undefined); // only succeeds once empty
    return true;
  }

  async readers(twinId: string, recordCid: string): Promise<string[]> {
    parseCid(recordCid);
    const names = await this.#list(this.#recordDir(normalizeTwinId(twinId), recordCid));
    return names
      .filter((name) => KEY_FILE.test(name))
      .map((name) => getAddress(name.slice(0, -KEY_SUFFIX.length)))
      .sort();
  }

  async records(twinId: string): Promise<string[]> {
    const id = normalizeTwinId(twinId);
    const cids = await this.#list(join(this.#twinDir(id), "records"));
    const withKeys: string[] = [];
    for (const cid of cids.sort()) if ((await this.readers(id, cid)).length > 0) withKeys.push(cid);
    return withKeys;
  }

  async countKeys(twinId: string): Promise<number> {
    const id = normalizeTwinId(twinId);
    let count = 0;
    for (const cid of await this.#list(join(this.#twinDir(id), "records"))) {
      count += (await this.readers(id, cid)).length;
    }
    return count;
  }

  async destroyAllForTwin(twinId: string): Promise<ErasureReceipt> {
    const id = normalizeTwinId(twinId);
    let erased = await this.#readErasure(id);
    if (!erased) {
      erased = { twinId: id, erasedAt: new Date().toISOString() };
      const record = new TextEncoder().encode(JSON.stringify(erased) + "\n");
      await io(`cannot record the erasure of twin ${id}`, () =>
        writeFileAtomic(join(this.#twinDir(id), ERASED_FILE), record, { mode: 0o600, fsync: this.#fsync }),
      );
    }
    let destroyedKeys = 0;
    const recordsDir = join(this.#twinDir(id), "records");
    for (const cid of await this.#list(recordsDir)) {
      for (const name of await this.#list(join(recordsDir, cid))) {
        if (!KEY_FILE.test(name)) continue;
        await io(`cannot destroy a wrapped key of twin ${id}`, () => unlink(join(recordsDir, cid, name)));
        destroyedKeys += 1;
      }
    }
    await io(`cannot remove the key folders of twin ${id}`, () => rm(recordsDir, { recursive: true, force: true }));
    return { ...erased, destroyedKeys };
  }

  async erasure(twinId: string): Promise<{ twinId: string; erasedAt: string } | undefined> {
    return this.#readErasure(normalizeTwinId(twinId));
  }

  async #refuseIfErased(twinId: string): Promise<void> {
    const erased = await this.#readErasure(twinId);
    if (erased) throw twinErased(twinId, erased.erasedAt);
  }

  async #readErasure(twinId: string): Promise<{ twinId: string; erasedAt: string } | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.#twinDir(twinId), ERASED_FILE), "utf8");
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return undefined;
      throw new StoreError("STORE_IO", `cannot read the erasure record of twin ${twinId}`, { cause });
    }
    try {
      const { erasedAt } = JSON.parse(text) as { erasedAt?: unknown };
      if (typeof erasedAt === "string") return { twinId, erasedAt };
    } catch {
      // fall through: a damaged erasure record still means the twin is erased
    }
    return { twinId, erasedAt: "unknown time (damaged erasure record)" };
  }

  async #list(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).filter((name) => !name.startsWith("."));
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return [];
      throw new StoreError("STORE_IO", `cannot list a key folder`, { cause });
    }
  }

  #twinDir(twinId: string): string {
    return join(this.root, twinId.slice(2));
  }

  #recordDir(twinId: string, recordCid: string): string {
    return join(this.#twinDir(twinId), "records", recordCid);
  }

  #keyPath(twinId: string, recordCid: string, reader: string): string {
    return join(this.#recordDir(twinId, recordCid), reader.toLowerCase() + KEY_SUFFIX);
  }
}

async function io<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (cause) {
    if (cause instanceof StoreError) throw cause;
    throw new StoreError("STORE_IO", what, { cause });
  }
}
