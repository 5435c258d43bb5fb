import { readdir, readFile, rm, rmdir, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LRUCache } from "lru-cache";
import { isFsError, syncDirectory, writeFileAtomic } from "./atomic-file";
import { parseWrappedKey } from "../crypto";
import { parseCid } from "./cid";
import { StoreError } from "./errors";
import { LEGACY_TWIN_DIR, migrateLegacyTwin } from "./folder-key-legacy";
import {
  batchChecks,
  ERASED_FILE,
  io,
  loadStoreSecret,
  KEY_SUFFIX,
  OPAQUE_DIR,
  OPAQUE_KEY_FILE,
  opaqueName,
  PACKS_DIR,
  parseErasure,
} from "./folder-key-layout";
import { decodeKeyFile, encodeKeyFile, encodeKeyPack, KeyPackDamaged, type KeyFile } from "./key-pack";
import { TwinKeyPacks } from "./key-pack-index";
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
import { newPackName, PackLockTimeout, withPackLock, zeroRangesAndRename } from "./pack-file";

/** Options of {@link FolderKeyStore}. */
export interface FolderKeyStoreOptions {
  /** Flush each key file and key pack, the erasure record and the store secret to disk (default true). */
  readonly fsync?: boolean;
  /** Key-pack entries kept in memory across twins (default 200,000, about 60 MB); least recently used twins go. */
  readonly cachedKeys?: number;
}

/**
 * A {@link KeyStore} in a folder, one file per wrapped key (`put`) or one pack per twin and batch (`putMany`),
 * under names that reveal nothing:
 *
 * ```
 * <root>/.store-key                                   32 random bytes, the store secret (0600)
 * <root>/<T>/ERASED.json                              {"erasedAt"}, written when the twin is erased
 * <root>/<T>/<R>/<K>.wkey                             one key: version 1, reader (20 bytes), cid length, cid, key
 * <root>/<T>/packs/<P>.wkpack                         many keys of the twin (format in key-pack.ts)
 *   T = HMAC(secret, "twin:" + twinId), R = HMAC(secret, "record:" + twinId + cid),
 *   K = HMAC(secret, "reader:" + twinId + cid + reader), HMAC-SHA-256 as 32 hex digits,
 *   twin id and reader lowercase hex; P = 128 random bits as 32 hex digits
 * ```
 *
 * Whoever lists the folder sees how many twins, records, keys and batches there are, but not which twin, record or
 * reader: twin ids and reader addresses are public on chain, so clear names would link readers to twins. The reader
 * and content id are kept inside each key file and pack entry (for `readers` and `records`). Losing `.store-key`
 * loses the way to every key file: keep it with the folder, and a store whose secret is missing but which holds
 * opaque folders refuses to start a new secret.
 *
 * Files are written atomically (temporary file, then rename) with mode 0600, folders 0700: a pack is visible whole
 * or not at all. Reads look in both layouts: a key file first (`put` replaces a key by writing one), then the
 * twin's packs, loaded in memory on the twin's first access (an LRU cache bounds the entries held across twins) and
 * listed again on each call, so packs written, rewritten or deleted by another process are seen; of two packs
 * holding a key, the later written wins, and `putMany` deletes the key files its keys replace. `remove` (a
 * revocation) destroys the key: its file is deleted, and in every pack holding it the wrapped key is overwritten
 * with zeros in place (under a lock file beside the pack) and the pack renamed, so that other processes reload it.
 *
 * Erasure writes `ERASED.json` first, then deletes the key files and packs: a crash in between still reads as
 * erased, and repeating the call finishes the deletion. A `put` or `putMany` racing an erasure re-checks after
 * writing and removes its own file or pack, so no key survives an erasure.
 *
 * Folders written before opaque names (`<twin id>/records/<cid>/<reader>.wkey`) are migrated on the first access
 * of each twin, or all at once by {@link FolderKeyStore.migrateLegacyLayout} (see folder-key-legacy.ts).
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
  /** The key packs of recently used twins, by twin id. */
  readonly #packs: LRUCache<string, TwinKeyPacks>;
  /** The last `writtenAt` given to a pack by this instance: strictly increasing, so later batches win. */
  #lastWrittenAt = 0;

  constructor(root: string, options: FolderKeyStoreOptions = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
    this.#packs = new LRUCache({ maxSize: options.cachedKeys ?? 200_000, sizeCalculation: (packs) => packs.size });
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
   * Many wrapped keys in one pack per twin: each twin's erasure is checked once before and once after (where `put`
   * checks per key). A twin erased meanwhile loses the pack this call wrote for it, and the call throws `TWIN_ERASED`.
   */
  async putMany(entries: readonly WrappedKeyEntry[]): Promise<void> {
    const byTwin = new Map<string, KeyFile[]>();
    const check = batchChecks();
    for (const entry of entries) {
      const twinId = check.twin(entry.twinId);
      const key = {
        recordCid: check.cid(entry.recordCid),
        reader: check.reader(entry.reader),
        wrappedKey: entry.wrappedKey,
      };
      parseWrappedKey(entry.wrappedKey);
      const batch = byTwin.get(twinId);
      if (batch) batch.push(key);
      else byTwin.set(twinId, [key]);
    }
    for (const twinId of byTwin.keys()) {
      await this.#ready(twinId);
      await this.#refuseIfErased(twinId);
    }
    const written: { twinId: string; name: string; path: string }[] = [];
    for (const [twinId, batch] of byTwin) {
      const dir = join(await this.#twinDir(twinId), PACKS_DIR);
      const name = newPackName();
      const writtenAt = (this.#lastWrittenAt = Math.max(Date.now(), this.#lastWrittenAt + 1));
      const path = join(dir, name + ".wkpack");
      const { bytes, pack } = encodeKeyPack(writtenAt, batch);
      await io(`cannot write a pack of ${batch.length} wrapped keys`, async () => {
        await writeFileAtomic(path, bytes, { mode: 0o600, fsync: this.#fsync });
        if (this.#fsync) await syncDirectory(dir);
      });
      written.push({ twinId, name, path });
      this.#packs.peek(twinId)?.add(name, pack); // only a twin already loaded
      await this.#deleteReplacedFiles(twinId, batch);
    }
    for (const twinId of byTwin.keys()) {
      const erased = await this.#readErasure(twinId);
      if (!erased) continue;
      for (const pack of written) if (pack.twinId === twinId) await unlink(pack.path).catch(() => undefined);
      this.#packs.delete(twinId);
      throw twinErased(twinId, erased.erasedAt);
    }
  }

  async get(ref: WrappedKeyRef): Promise<Uint8Array> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#ready(twinId);
    await this.#refuseIfErased(twinId);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readFile(await this.#keyPath(twinId, recordCid, reader));
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) {
        throw new StoreError("STORE_IO", `cannot read the wrapped key of record ${recordCid} for ${reader}`, { cause });
      }
    }
    if (bytes) {
      const file = decodeKeyFile(bytes);
      if (!file || file.reader !== reader || file.recordCid !== recordCid) {
        throw new StoreError("STORE_IO", `the key file of record ${recordCid} for ${reader} is damaged`);
      }
      return file.wrappedKey;
    }
    const packed = (await this.#twinPacks(twinId)).lookup(recordCid, reader);
    if (packed) return Uint8Array.from(packed.wrappedKey);
    await this.#refuseIfErased(twinId); // erased while we were reading
    throw new StoreError("KEY_NOT_FOUND", `no wrapped key for record ${recordCid} and reader ${reader}`);
  }

  async has(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#ready(twinId);
    if (await this.#readErasure(twinId)) return false;
    try {
      if ((await stat(await this.#keyPath(twinId, recordCid, reader))).isFile()) return true;
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) {
        throw new StoreError("STORE_IO", `cannot stat the wrapped key of record ${recordCid} for ${reader}`, {
          cause,
        });
      }
    }
    return (await this.#twinPacks(twinId)).lookup(recordCid, reader) !== undefined;
  }

  async remove(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    await this.#ready(twinId);
    let removed = false;
    try {
      await unlink(await this.#keyPath(twinId, recordCid, reader));
      removed = true;
      await rmdir(await this.#recordDir(twinId, recordCid)).catch(() => undefined); // only succeeds once empty
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) {
        throw new StoreError("STORE_IO", `cannot remove the wrapped key of record ${recordCid} for ${reader}`, {
          cause,
        });
      }
    }
    const packs = await this.#twinPacks(twinId);
    for (let attempt = 0; ; attempt++) {
      const holding = packs.holding(recordCid, reader);
      if (holding.length === 0) break;
      if (attempt > 8) throw new StoreError("STORE_IO", `cannot remove the wrapped key of record ${recordCid}`);
      for (const name of holding) if (await this.#rewriteWithout(packs, name, recordCid, reader)) removed = true;
    }
    return removed;
  }

  async readers(twinId: string, recordCid: string): Promise<string[]> {
    parseCid(recordCid);
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    const files = await this.#keyFiles(await this.#recordDir(id, recordCid));
    const readers = new Set(files.filter((file) => file.recordCid === recordCid).map((file) => file.reader));
    for (const key of (await this.#twinPacks(id)).keys()) if (key.recordCid === recordCid) readers.add(key.reader);
    return [...readers].sort();
  }

  async records(twinId: string): Promise<string[]> {
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    const twinDir = await this.#twinDir(id);
    const withKeys = new Set<string>();
    for (const name of await this.#list(twinDir)) {
      if (!OPAQUE_DIR.test(name)) continue;
      const [first] = await this.#keyFiles(join(twinDir, name), 1);
      if (first) withKeys.add(first.recordCid);
    }
    for (const key of (await this.#twinPacks(id)).keys()) withKeys.add(key.recordCid);
    return [...withKeys].sort();
  }

  async countKeys(twinId: string): Promise<number> {
    const id = normalizeTwinId(twinId);
    await this.#ready(id);
    const { files, packed } = await this.#keyCounts(id);
    return files.size + packed;
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
      done = this.#storeSecret().then(() =>
        migrateLegacyTwin(
          {
            root: this.root,
            fsync: this.#fsync,
            keyPath: (twin, cid, reader) => this.#keyPath(twin, cid, reader),
            readErasure: (twin) => this.#readErasure(twin),
            writeErasure: (twin, erasedAt) => this.#writeErasure(twin, erasedAt),
            destroyKeys: (twin) => this.#destroyKeys(twin),
            list: (dir) => this.#list(dir),
          },
          twinId,
        ),
      );
      this.#migrated.set(twinId, done);
      done.catch(() => this.#migrated.delete(twinId)); // retried on the next access
    }
    await done;
  }

  /** The twin's key packs, loaded once and listed again (another process may have written or rewritten some). */
  async #twinPacks(twinId: string): Promise<TwinKeyPacks> {
    let packs = this.#packs.get(twinId);
    packs ??= new TwinKeyPacks(join(await this.#twinDir(twinId), PACKS_DIR));
    await io(`cannot read the key packs of twin ${twinId}`, () => packs.sync());
    this.#packs.set(twinId, packs); // (re)measured
    if (packs.damaged > 0) throw new StoreError("STORE_IO", `${packs.damaged} key pack(s) of twin ${twinId} damaged`);
    return packs;
  }

  /**
   * Destroy a record's key for a reader in a pack, under the pack's lock: the wrapped key is overwritten with zeros
   * in place, then the pack renamed (other processes reload it); the last live key deletes the pack. False when the
   * pack had gone already (renamed by another process: the index is listed again).
   */
  async #rewriteWithout(packs: TwinKeyPacks, name: string, recordCid: string, reader: string): Promise<boolean> {
    const what = `cannot remove the wrapped key of record ${recordCid} for ${reader} from its pack`;
    return io(what, () =>
      withPackLock(packs.dir, name, async () => {
        const pack = packs.pack(name);
        const present = await stat(packs.path(name)).then(
          () => true,
          () => false,
        );
        if (!pack || !present) {
          packs.drop(name);
          await packs.sync();
          return false;
        }
        const isRef = (entry: KeyFile) => entry.recordCid === recordCid && entry.reader === reader;
        const kept = pack.entries.filter((entry) => !isRef(entry));
        if (kept.length === 0) {
          await unlink(packs.path(name));
        } else {
          const successor = newPackName();
          const ranges = pack.entries.filter(isRef).map((entry) => ({
            offset: entry.keyOffset,
            length: entry.wrappedKey.length,
          }));
          await zeroRangesAndRename(packs.path(name), ranges, packs.path(successor), this.#fsync);
          packs.add(successor, { writtenAt: pack.writtenAt, entries: kept });
        }
        if (this.#fsync) await syncDirectory(packs.dir);
        packs.drop(name);
        return true;
      }).catch(async (cause: unknown) => {
        if (isFsError(cause, "ENOENT")) {
          await packs.sync(); // the pack folder went (an erasure elsewhere): the caller looks again
          return false;
        }
        if (cause instanceof PackLockTimeout || cause instanceof KeyPackDamaged) {
          throw new StoreError("STORE_IO", `${what}: ${cause.message}`, { cause });
        }
        throw cause;
      }),
    );
  }

  /** Delete the key files a batch replaces (a twin with no key file, the usual case, costs one listing). */
  async #deleteReplacedFiles(twinId: string, batch: readonly KeyFile[]): Promise<void> {
    const twinDir = await this.#twinDir(twinId);
    const recordDirs = new Set((await this.#list(twinDir)).filter((name) => OPAQUE_DIR.test(name)));
    if (recordDirs.size === 0) return;
    const secret = await this.#storeSecret();
    for (const { recordCid, reader } of batch) {
      const recordDir = opaqueName(secret, "record:" + twinId + recordCid);
      if (!recordDirs.has(recordDir)) continue;
      const path = join(twinDir, recordDir, opaqueName(secret, "reader:" + twinId + recordCid + reader.toLowerCase()));
      await io(`cannot replace the wrapped key of record ${recordCid}`, () => rm(path + KEY_SUFFIX, { force: true }));
      await rmdir(join(twinDir, recordDir)).catch(() => undefined); // only succeeds once empty
    }
  }

  /** The twin's key files (`<R>/<K>` names) and the packed keys not also held as a file. */
  async #keyCounts(twinId: string, packs?: TwinKeyPacks): Promise<{ files: Set<string>; packed: number }> {
    const twinDir = await this.#twinDir(twinId);
    const files = new Set<string>();
    for (const name of await this.#list(twinDir)) {
      if (!OPAQUE_DIR.test(name)) continue;
      for (const file of await this.#list(join(twinDir, name)))
        if (OPAQUE_KEY_FILE.test(file)) files.add(name + "/" + file);
    }
    let packed = 0;
    const secret = files.size > 0 ? await this.#storeSecret() : undefined;
    for (const { recordCid, reader } of (packs ?? (await this.#twinPacks(twinId))).keys()) {
      if (secret) {
        const record = twinId + recordCid;
        const name =
          opaqueName(secret, "record:" + record) + "/" + opaqueName(secret, "reader:" + record + reader.toLowerCase());
        if (files.has(name + KEY_SUFFIX)) continue;
      }
      packed += 1;
    }
    return { files, packed };
  }

  /** Delete every key file and pack of an erased twin, and its record folders; returns how many keys. */
  async #destroyKeys(twinId: string): Promise<number> {
    const twinDir = await this.#twinDir(twinId);
    const what = `cannot destroy a wrapped key of twin ${twinId}`;
    const packs = new TwinKeyPacks(join(twinDir, PACKS_DIR)); // damaged packs are deleted too, counted as none
    await io(what, () => packs.sync());
    const { files, packed } = await this.#keyCounts(twinId, packs);
    for (const name of await this.#list(twinDir)) {
      if (OPAQUE_DIR.test(name) || name === PACKS_DIR) {
        await io(what, () => rm(join(twinDir, name), { recursive: true, force: true }));
      }
    }
    this.#packs.delete(twinId);
    return files.size + packed;
  }

  /**
   * The store secret: read from `.store-key`, or created on first use. Creation writes a
   * temporary file and hard-links it into place, so concurrent openers agree on one secret and
   * no one reads a half-written file.
   */
  #storeSecret(): Promise<Uint8Array> {
    if (!this.#secret) {
      const loading = loadStoreSecret(this.root, this.#fsync, (dir) => this.#list(dir));
      this.#secret = loading;
      loading.catch(() => {
        if (this.#secret === loading) this.#secret = undefined; // retried on the next access
      });
    }
    return this.#secret;
  }

  async #name(message: string): Promise<string> {
    return opaqueName(await this.#storeSecret(), message);
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
