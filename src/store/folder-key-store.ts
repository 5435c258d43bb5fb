import { createHmac, randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rm, rmdir, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { getAddress, getBytes, hexlify } from "ethers";
import { DIRECTORY_MODE, isFsError, writeFileAtomic, writeFilesAtomic } from "./atomic-file";
import { parseCid } from "./cid";
import { StoreError } from "./errors";
import {
  normalizeEntry,
  normalizeReader,
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
  /** Flush each key file, the erasure record and the store secret to disk (default true). */
  readonly fsync?: boolean;
}

const SECRET_FILE = ".store-key";
const SECRET_BYTES = 32;
const ERASED_FILE = "ERASED.json";
const KEY_SUFFIX = ".wkey";
/** Opaque names: HMAC-SHA-256 truncated to 128 bits, 32 hex digits (so they never look like a 64-digit twin id). */
const NAME_HEX = 32;
const OPAQUE_DIR = /^[0-9a-f]{32}$/;
const OPAQUE_KEY_FILE = /^[0-9a-f]{32}\.wkey$/;
const KEY_FILE_VERSION = 1;
/** Layout written before opaque names: `<twin id hex>/records/<cid>/<reader lowercase>.wkey`. */
const LEGACY_TWIN_DIR = /^[0-9a-f]{64}$/;
const LEGACY_KEY_FILE = /^0x[0-9a-f]{40}\.wkey$/;

/** What a key file holds besides the wrapped key: whose key it is. */
interface KeyFile {
  readonly reader: string;
  readonly recordCid: string;
  readonly wrappedKey: Uint8Array;
}

/**
 * A {@link KeyStore} in a folder, one file per wrapped key, under names that reveal nothing:
 *
 * ```
 * <root>/.store-key                                   32 random bytes, the store secret (0600)
 * <root>/<T>/ERASED.json                              {"erasedAt"}, written when the twin is erased
 * <root>/<T>/<R>/<K>.wkey                             version 1, reader (20 bytes), cid length, cid, wrapped key
 *   T = HMAC(secret, "twin:" + twinId), R = HMAC(secret, "record:" + twinId + cid),
 *   K = HMAC(secret, "reader:" + twinId + cid + reader), HMAC-SHA-256 as 32 hex digits,
 *   twin id and reader lowercase hex
 * ```
 *
 * Whoever lists the folder sees how many twins, records and keys there are, but not which twin,
 * record or reader: twin ids and reader addresses are public on chain, so clear names would link
 * readers to twins. The reader and content id are kept inside each key file (for `readers` and
 * `records`). Losing `.store-key` loses the way to every key: keep it with the folder, and a
 * store whose secret is missing but which holds opaque folders refuses to start a new secret.
 *
 * Files are written atomically with mode 0600, folders 0700. Erasure writes `ERASED.json` first,
 * then deletes the key files: a crash in between still reads as erased, and repeating the call
 * finishes the deletion. A `put` racing an erasure re-checks after writing and removes its own
 * file, so no key survives an erasure.
 *
 * Folders written before opaque names (`<twin id>/records/<cid>/<reader>.wkey`) are migrated on
 * the first access of each twin, or all at once by {@link FolderKeyStore.migrateLegacyLayout}:
 * each key is rewritten under its opaque name before the clear one is deleted, so a crash loses
 * nothing and the next access resumes. A twin erased in the old layout keeps its erasure time and
 * its remaining clear-named keys are deleted, not moved.
 *
 * @dev Deleting a file does not scrub it from the disk (journals, SSD remapping, backups).
 * What makes erasure hold is that the data keys exist only wrapped; put this folder on
 * encrypted storage and keep it out of backups that outlive the retention policy.
 */
export class FolderKeyStore implements KeyStore {
  /** Absolute path of the root folder. */
  readonly root: string;
  readonly #fsync: boolean;
  #secret: Promise<Uint8Array> | undefined;
  /** Twins whose legacy folder was migrated (or found absent) by this instance. */
  readonly #migrated = new Map<string, Promise<void>>();

  constructor(root: string, options: FolderKeyStoreOptions = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
  }

  async put(entry: WrappedKeyEntry): Promise<void> {
    const { twinId, recordCid, reader, wrappedKey } = normalizeEntry(entry);
    await this.#ready(twinId);
    await this.#refuseIfErased(twinId);
    const path = await this.#keyPath(twinId, recordCid, reader);
    await io(`cannot write the wrapped key of record ${recordCid} for ${reader}`, () =>
      writeFileAtomic(path, encodeKeyFile({ reader, recordCid, wrappedKey }), { mode: 0o600, fsync: this.#fsync }),
    );
    const erased = await this.#readErasure(twinId);
    if (erased) {
      await unlink(path).catch(() => undefined);
      throw twinErased(twinId, erased.erasedAt);
    }
  }

  /**
   * Many wrapped keys in one batch: each twin's erasure is checked once before and once after (where `put` checks
   * per key), and the key files are written by `writeFilesAtomic` (each whole or absent). A twin erased meanwhile
   * loses the keys this call wrote for it, and the call throws `TWIN_ERASED`.
   */
  async putMany(entries: readonly WrappedKeyEntry[]): Promise<void> {
    const readers = new Map<string, string>(); // a batch names a few readers many times: checksum each once
    const normalized = entries.map((entry) => {
      let reader = readers.get(entry.reader);
      if (reader === undefined) readers.set(entry.reader, (reader = normalizeReader(entry.reader)));
      return normalizeEntry({ ...entry, reader }, true);
    });
    const twins = [...new Set(normalized.map((entry) => entry.twinId))];
    for (const twinId of twins) {
      await this.#ready(twinId);
      await this.#refuseIfErased(twinId);
    }
    const paths = await this.#keyPaths(normalized);
    const files = normalized.map(({ twinId, recordCid, reader, wrappedKey }, i) => ({
      twinId,
      path: paths[i],
      bytes: encodeKeyFile({ reader, recordCid, wrappedKey }),
    }));
    await io(`cannot write a batch of ${files.length} wrapped keys`, () =>
      writeFilesAtomic(files, { mode: 0o600, fsync: this.#fsync }),
    );
    for (const twinId of twins) {
      const erased = await this.#readErasure(twinId);
      if (!erased) continue;
      for (const file of files) if (file.twinId === twinId) await unlink(file.path).catch(() => undefined);
      throw twinErased(twinId, erased.erasedAt);
    }
  }

  async get(ref: WrappedKeyRef): Promise<Uint8Array> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#ready(twinId);
    await this.#refuseIfErased(twinId);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(await this.#keyPath(twinId, recordCid, reader));
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) {
        await this.#refuseIfErased(twinId); // erased while we were reading
        throw new StoreError("KEY_NOT_FOUND", `no wrapped key for record ${recordCid} and reader ${reader}`);
      }
      throw new StoreError("STORE_IO", `cannot read the wrapped key of record ${recordCid} for ${reader}`, { cause });
    }
    const file = decodeKeyFile(bytes);
    if (!file || file.reader !== reader || file.recordCid !== recordCid) {
      throw new StoreError("STORE_IO", `the key file of record ${recordCid} for ${reader} is damaged`);
    }
    return file.wrappedKey;
  }

  async has(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#ready(twinId);
    if (await this.#readErasure(twinId)) return false;
    try {
      return (await stat(await this.#keyPath(twinId, recordCid, reader))).isFile();
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return false;
      throw new StoreError("STORE_IO", `cannot stat the wrapped key of record ${recordCid} for ${reader}`, { cause });
    }
  }

  async remove(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#ready(twinId);
    try {
      await unlink(await this.#keyPath(twinId, recordCid, reader));
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return false;
      throw new StoreError("STORE_IO", `cannot remove the wrapped key of record ${recordCid} for ${reader}`, {
        cause,
      });
    }
    await rmdir(await this.#recordDir(twinId, recordCid)).catch(() => undefined); // only succeeds once empty
    return true;
  }

  async readers(twinId: string, recordCid: string): Promise<string[]> {
    parseCid(recordCid);
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    const files = await this.#keyFiles(await this.#recordDir(id, recordCid));
    return files
      .filter((file) => file.recordCid === recordCid)
      .map((file) => file.reader)
      .sort();
  }

  async records(twinId: string): Promise<string[]> {
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    const twinDir = await this.#twinDir(id);
    const withKeys: string[] = [];
    for (const name of await this.#list(twinDir)) {
      if (!OPAQUE_DIR.test(name)) continue;
      const [first] = await this.#keyFiles(join(twinDir, name), 1);
      if (first) withKeys.push(first.recordCid);
    }
    return withKeys.sort();
  }

  async countKeys(twinId: string): Promise<number> {
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    const twinDir = await this.#twinDir(id);
    let count = 0;
    for (const name of await this.#list(twinDir)) {
      if (!OPAQUE_DIR.test(name)) continue;
      count += (await this.#list(join(twinDir, name))).filter((file) => OPAQUE_KEY_FILE.test(file)).length;
    }
    return count;
  }

  async destroyAllForTwin(twinId: string): Promise<ErasureReceipt> {
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    let erased = await this.#readErasure(id);
    if (!erased) {
      erased = { twinId: id, erasedAt: new Date().toISOString() };
      await this.#writeErasure(id, erased.erasedAt);
    }
    return { ...erased, destroyedKeys: await this.#destroyKeys(id) };
  }

  async erasure(twinId: string): Promise<{ twinId: string; erasedAt: string } | undefined> {
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    return this.#readErasure(id);
  }

  /**
   * Migrate every twin folder written before opaque names, not only those accessed since: after
   * this, no name under the root contains a twin id, a content id or an address. Returns the
   * number of twins migrated.
   */
  async migrateLegacyLayout(): Promise<number> {
    const legacy = (await this.#list(this.root)).filter((name) => LEGACY_TWIN_DIR.test(name));
    for (const name of legacy) await this.#ready("0x" + name);
    return legacy.length;
  }

  /** The store secret and the twin's legacy folder migrated, once per instance and twin. */
  async #ready(twinId: string): Promise<void> {
    let done = this.#migrated.get(twinId);
    if (!done) {
      done = this.#migrateTwin(twinId);
      this.#migrated.set(twinId, done);
      done.catch(() => this.#migrated.delete(twinId)); // retried on the next access
    }
    await done;
  }

  async #migrateTwin(twinId: string): Promise<void> {
    await this.#storeSecret();
    const legacyDir = join(this.root, twinId.slice(2));
    const what = `cannot migrate the key folder of twin ${twinId}`;
    let legacyErasedAt: string | undefined;
    try {
      legacyErasedAt = parseErasure(await readFile(join(legacyDir, ERASED_FILE), "utf8"));
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", what, { cause });
    }
    if (legacyErasedAt !== undefined) {
      if (!(await this.#readErasure(twinId))) await this.#writeErasure(twinId, legacyErasedAt);
    } else {
      const recordsDir = join(legacyDir, "records");
      for (const recordCid of await this.#list(recordsDir)) {
        for (const name of await this.#list(join(recordsDir, recordCid))) {
          if (!LEGACY_KEY_FILE.test(name)) continue;
          const old = join(recordsDir, recordCid, name);
          let wrappedKey: Uint8Array;
          try {
            wrappedKey = await readFile(old);
          } catch (cause) {
            if (isFsError(cause, "ENOENT")) continue; // moved by a concurrent migration
            throw new StoreError("STORE_IO", what, { cause });
          }
          const reader = getAddress(name.slice(0, -KEY_SUFFIX.length));
          const path = await this.#keyPath(twinId, recordCid, reader);
          const bytes = encodeKeyFile({ reader, recordCid, wrappedKey });
          await io(what, () => writeFileAtomic(path, bytes, { mode: 0o600, fsync: this.#fsync }));
          await io(what, () => rm(old, { force: true }));
        }
      }
    }
    await io(what, () => rm(legacyDir, { recursive: true, force: true }));
    // an erasure by another process while we were moving keys: our moved keys must not survive it
    if (await this.#readErasure(twinId)) await this.#destroyKeys(twinId);
  }

  /** Delete every key file of an erased twin, and its record folders; returns how many keys. */
  async #destroyKeys(twinId: string): Promise<number> {
    const twinDir = await this.#twinDir(twinId);
    const what = `cannot destroy a wrapped key of twin ${twinId}`;
    let destroyed = 0;
    for (const name of await this.#list(twinDir)) {
      if (!OPAQUE_DIR.test(name)) continue;
      const recordDir = join(twinDir, name);
      for (const file of await this.#list(recordDir)) {
        if (!OPAQUE_KEY_FILE.test(file)) continue;
        await io(what, () => unlink(join(recordDir, file)));
        destroyed += 1;
      }
      await io(what, () => rm(recordDir, { recursive: true, force: true }));
    }
    return destroyed;
  }

  /**
   * The store secret: read from `.store-key`, or created on first use. Creation writes a
   * temporary file and hard-links it into place, so concurrent openers agree on one secret and
   * no one reads a half-written file.
   */
  #storeSecret(): Promise<Uint8Array> {
    if (!this.#secret) {
      const loading = this.#loadSecret();
      this.#secret = loading;
      loading.catch(() => {
        if (this.#secret === loading) this.#secret = undefined; // retried on the next access
      });
    }
    return this.#secret;
  }

  async #loadSecret(): Promise<Uint8Array> {
    const path = join(this.root, SECRET_FILE);
    const read = async (): Promise<Uint8Array | undefined> => {
      try {
        const bytes = await readFile(path);
        if (bytes.length !== SECRET_BYTES)
          throw new StoreError("STORE_IO", `the key store's ${SECRET_FILE} is damaged`);
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
    await io(what, () => mkdir(this.root, { recursive: true, mode: DIRECTORY_MODE }));
    if ((await this.#list(this.root)).some((name) => OPAQUE_DIR.test(name))) {
      throw new StoreError("STORE_IO", `the key store's ${SECRET_FILE} is missing but opaque key folders exist`);
    }
    const temp = join(this.root, `${SECRET_FILE}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await io(what, async () => {
        const handle = await open(temp, "wx", 0o600);
        try {
          await handle.writeFile(randomBytes(SECRET_BYTES));
          if (this.#fsync) await handle.sync();
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

  async #name(message: string): Promise<string> {
    return opaqueName(await this.#storeSecret(), message);
  }

  /**
   * The key files of a batch (as `#keyPath` each), the secret read once and each twin's and record's folder name
   * computed once: a large ingest writes two keys per record, each named by three HMACs otherwise.
   */
  async #keyPaths(refs: readonly WrappedKeyRef[]): Promise<string[]> {
    const secret = await this.#storeSecret();
    const twinDirs = new Map<string, string>();
    const recordDirs = new Map<string, string>();
    return refs.map(({ twinId, recordCid, reader }) => {
      let twinDir = twinDirs.get(twinId);
      if (twinDir === undefined)
        twinDirs.set(twinId, (twinDir = join(this.root, opaqueName(secret, "twin:" + twinId))));
      const record = twinId + recordCid;
      let recordDir = recordDirs.get(record);
      if (recordDir === undefined) {
        recordDirs.set(record, (recordDir = join(twinDir, opaqueName(secret, "record:" + record))));
      }
      return join(recordDir, opaqueName(secret, "reader:" + record + reader.toLowerCase()) + KEY_SUFFIX);
    });
  }

  async #twinDir(twinId: string): Promise<string> {
    return join(this.root, await this.#name("twin:" + twinId));
  }

  async #recordDir(twinId: string, recordCid: string): Promise<string> {
    return join(await this.#twinDir(twinId), await this.#name("record:" + twinId + recordCid));
  }

  async #keyPath(twinId: string, recordCid: string, reader: string): Promise<string> {
    const name = await this.#name("reader:" + twinId + recordCid + reader.toLowerCase());
    return join(await this.#recordDir(twinId, recordCid), name + KEY_SUFFIX);
  }

  /** The readable key files of a folder (at most `limit`); damaged ones are skipped. */
  async #keyFiles(dir: string, limit = Infinity): Promise<KeyFile[]> {
    const files: KeyFile[] = [];
    for (const name of await this.#list(dir)) {
      if (files.length >= limit) break;
      if (!OPAQUE_KEY_FILE.test(name)) continue;
      try {
        const file = decodeKeyFile(await readFile(join(dir, name)));
        if (file) files.push(file);
      } catch (cause) {
        if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", "cannot read a key file", { cause });
      }
    }
    return files;
  }

  async #refuseIfErased(twinId: string): Promise<void> {
    const erased = await this.#readErasure(twinId);
    if (erased) throw twinErased(twinId, erased.erasedAt);
  }

  async #writeErasure(twinId: string, erasedAt: string): Promise<void> {
    const record = new TextEncoder().encode(JSON.stringify({ erasedAt }) + "\n");
    const path = join(await this.#twinDir(twinId), ERASED_FILE);
    await io(`cannot record the erasure of twin ${twinId}`, () =>
      writeFileAtomic(path, record, { mode: 0o600, fsync: this.#fsync }),
    );
  }

  async #readErasure(twinId: string): Promise<{ twinId: string; erasedAt: string } | undefined> {
    try {
      const text = await readFile(join(await this.#twinDir(twinId), ERASED_FILE), "utf8");
      return { twinId, erasedAt: parseErasure(text) };
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return undefined;
      throw new StoreError("STORE_IO", `cannot read the erasure record of twin ${twinId}`, { cause });
    }
  }

  async #list(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).filter((name) => !name.startsWith("."));
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return [];
      throw new StoreError("STORE_IO", `cannot list a key folder`, { cause });
    }
  }
}

/** The erasure time in an erasure record; a damaged record still means the twin is erased. */
function parseErasure(text: string): string {
  try {
    const { erasedAt } = JSON.parse(text) as { erasedAt?: unknown };
    if (typeof erasedAt === "string") return erasedAt;
  } catch {
    // fall through
  }
  return "unknown time (damaged erasure record)";
}

/** Key file: version (1 byte), reader address (20), cid length (1), cid (ASCII), wrapped key (the rest). */
function encodeKeyFile({ reader, recordCid, wrappedKey }: KeyFile): Uint8Array {
  const cid = new TextEncoder().encode(recordCid);
  if (cid.length > 255) throw new StoreError("CID_INVALID", "content id too long for a key file");
  const out = new Uint8Array(22 + cid.length + wrappedKey.length);
  out[0] = KEY_FILE_VERSION;
  out.set(getBytes(reader), 1);
  out[21] = cid.length;
  out.set(cid, 22);
  out.set(wrappedKey, 22 + cid.length);
  return out;
}

function decodeKeyFile(bytes: Uint8Array): KeyFile | undefined {
  if (bytes.length < 22 || bytes[0] !== KEY_FILE_VERSION || bytes.length < 22 + bytes[21]) return undefined;
  const end = 22 + bytes[21];
  return {
    reader: getAddress(hexlify(bytes.subarray(1, 21))),
    recordCid: new TextDecoder().decode(bytes.subarray(22, end)),
    wrappedKey: Uint8Array.from(bytes.subarray(end)),
  };
}

async function io<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (cause) {
    if (cause instanceof StoreError) throw cause;
    throw new StoreError("STORE_IO", what, { cause });
  }
}

/** An opaque file name: HMAC-SHA-256 of `message` under the store secret, {@link NAME_HEX} hex digits. */
function opaqueName(secret: Uint8Array, message: string): string {
  // node's HMAC-SHA-256 (OpenSSL): the same bytes as noble's, several times faster for a batch of keys
  return createHmac("sha256", secret).update(message, "utf8").digest("hex").slice(0, NAME_HEX);
}
