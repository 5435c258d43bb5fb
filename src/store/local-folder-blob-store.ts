import { readdir, readFile, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isFsError, syncDirectory, writeFileAtomic } from "./atomic-file";
import type { BlobStore } from "./blob-store";
import { BlobPackDamaged, cidRangeOf, encodeBlobPack, readBlobPackIndex, type BlobPackEntry } from "./blob-pack";
import { cidOf, parseCid, verifyBlob } from "./cid";
import { StoreError } from "./errors";
import {
  CID_SHAPE,
  listPacks,
  newPackName,
  PackLockTimeout,
  readRange,
  withPackLock,
  zeroRangesAndRename,
} from "./pack-file";

/** Options of {@link LocalFolderBlobStore}. */
export interface LocalFolderBlobStoreOptions {
  /** Flush each blob (each pack) to disk before it becomes visible (default true). */
  readonly fsync?: boolean;
}

const PACKS_DIR = "packs";
const PACK_SUFFIX = ".pack";

/** Where a packed blob is: the pack's name and the blob's place in it. */
interface PackedAt {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * The embedded default {@link BlobStore}: a folder holding blobs one file each (`put`) or many to a pack
 * (`putMany`), files 0600 and folders 0700 (the blobs are sealed, but which blobs exist and when they were written
 * is the custodian's business):
 *
 * ```
 * <root>/<shard>/<cid>          one blob, written by `put` (temporary file, then rename)
 * <root>/packs/<id>.pack        a batch of blobs written by `putMany`: index first, then the blobs (see blob-pack.ts)
 *   id = 128 random bits, 32 hex digits; temporary files and delete locks are dot-prefixed
 * ```
 *
 * A pack is written whole under a temporary name, flushed (with `fsync`), then renamed into place: it is visible
 * whole or not at all, and a crash leaves at worst a pack nobody references (content-addressed blobs, which the
 * pipeline's recovery deletes). `get` and `has` look in both layouts: packs through an in-memory map content id →
 * (pack, offset, length), built on first use from the packs' indexes (only the index part of each file is read) and
 * updated by this instance's writes. Several processes may share the folder: on a miss, the pack folder is listed
 * again for packs another process added (or rewrote) before the answer is `BLOB_NOT_FOUND`. A read is a positioned
 * read of the blob's bytes only, re-hashed against its id (`BLOB_TAMPERED`). A pack whose index is damaged (or
 * which is truncated) is left out of the map, and a miss while one exists is `STORE_IO`, not `BLOB_NOT_FOUND`.
 *
 * `delete` of a packed blob removes its bytes: they and its index entry's content id are overwritten with zeros in
 * place (a cost of the blob's size, not the pack's: erasing a twin deletes its blobs one by one), under a lock file
 * beside the pack so that two processes do not interleave, then the pack is renamed so that other processes reload
 * its index; the last blob of a pack deletes the pack. A crash between the two overwrites leaves the entry pointing
 * at zeros (`BLOB_TAMPERED` on read) until the delete is repeated.
 *
 * @dev Every id starts with the same 7 characters (`bafkrei`: multibase, version, codec and multihash header), so
 * the shard is the next two characters, which come from the first byte of the sha2-256 digest: 256 evenly filled
 * directories.
 */
export class LocalFolderBlobStore implements BlobStore {
  /** Absolute path of the root folder. */
  readonly root: string;
  readonly #fsync: boolean;
  readonly #packsDir: string;
  /** Content id → where it is packed (usually one place; a blob stored by two batches of two processes: two). */
  readonly #packed = new Map<string, PackedAt[]>();
  /** Pack name → the content ids it holds (its index as loaded). */
  readonly #packs = new Map<string, string[]>();
  /** Packs whose index could not be read. */
  readonly #damaged = new Set<string>();
  /** The latest scan of the pack folder; scans run one after another. */
  #scan: Promise<void> | undefined;

  constructor(root: string, options: LocalFolderBlobStoreOptions = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
    this.#packsDir = join(this.root, PACKS_DIR);
  }

  /** The file that holds (or would hold) a blob in the single-file layout. Throws `CID_INVALID`. */
  pathOf(cid: string): string {
    parseCid(cid);
    return join(this.root, cid.slice(7, 9), cid);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const cid = cidOf(bytes);
    try {
      await writeFileAtomic(this.pathOf(cid), bytes, { mode: 0o600, fsync: this.#fsync });
    } catch (cause) {
      throw new StoreError("STORE_IO", `cannot write blob ${cid}`, { cause });
    }
    return cid;
  }

  /** Many blobs in one pack file, visible whole or not at all; blobs this instance knows packed already are skipped. */
  async putMany(blobs: readonly Uint8Array[]): Promise<string[]> {
    const cids = blobs.map((bytes) => cidOf(bytes));
    // skips what is known packed, without loading every pack's index first: an ingest into a large store stays lean
    const fresh = new Map<string, Uint8Array>();
    for (const [i, cid] of cids.entries()) if (!this.#packed.has(cid)) fresh.set(cid, blobs[i]);
    if (fresh.size === 0) return cids;
    const { bytes, entries } = encodeBlobPack([...fresh].map(([cid, blob]) => ({ cid, bytes: blob })));
    const name = newPackName();
    try {
      await writeFileAtomic(this.#packPath(name), bytes, { mode: 0o600, fsync: this.#fsync });
      if (this.#fsync) await syncDirectory(this.#packsDir);
    } catch (cause) {
      throw new StoreError("STORE_IO", `cannot write a pack of ${fresh.size} blobs`, { cause });
    }
    this.#addPack(name, entries);
    return cids;
  }

  async get(cid: string): Promise<Uint8Array> {
    const path = this.pathOf(cid);
    const packed = await this.#readPacked(cid);
    if (packed) return packed;
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", `cannot read blob ${cid}`, { cause });
      await this.#rescan();
      const added = await this.#readPacked(cid);
      if (added) return added;
      this.#refuseIfDamaged(cid);
      throw new StoreError("BLOB_NOT_FOUND", `no blob ${cid}`, { cause });
    }
    verifyBlob(cid, bytes);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(cid: string): Promise<boolean> {
    const path = this.pathOf(cid);
    await this.#loaded();
    if (this.#packed.has(cid) && (await this.#packsPresent(cid))) return true;
    try {
      return (await stat(path)).isFile();
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", `cannot stat blob ${cid}`, { cause });
    }
    await this.#rescan();
    if (this.#packed.has(cid)) return true;
    this.#refuseIfDamaged(cid);
    return false;
  }

  async delete(cid: string): Promise<boolean> {
    const path = this.pathOf(cid);
    let deleted = false;
    try {
      await unlink(path);
      deleted = true;
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", `cannot delete blob ${cid}`, { cause });
    }
    await this.#rescan(); // every pack holding it, including those of other processes
    for (let attempt = 0; this.#packed.has(cid); attempt++) {
      if (attempt > 8) throw new StoreError("STORE_IO", `cannot delete blob ${cid}: its packs keep changing`);
      for (const { pack } of this.#packed.get(cid) ?? []) {
        if (await this.#removeFromPack(pack, cid)) deleted = true;
      }
    }
    return deleted;
  }

  /** Every content id stored, in either layout, sorted (for audits, sweeps and tests; lists the whole folder). */
  async cids(): Promise<string[]> {
    const cids = new Set<string>();
    try {
      for (const shard of await readdir(this.root)) {
        if (shard.length !== 2 || shard.startsWith(".")) continue;
        for (const name of await readdir(join(this.root, shard))) if (CID_SHAPE.test(name)) cids.add(name);
      }
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", "cannot list the blobs", { cause });
    }
    await this.#rescan();
    for (const cid of this.#packed.keys()) cids.add(cid);
    return [...cids].sort();
  }

  /**
   * Where a blob's bytes are on disk: its own file (the whole of it) or a range of a pack; undefined when it is not
   * stored. For operators' tools and tests (the bytes are sealed); readers use `get`.
   */
  async locate(cid: string): Promise<{ path: string; offset: number; length: number } | undefined> {
    const path = this.pathOf(cid);
    try {
      return { path, offset: 0, length: (await stat(path)).size };
    } catch (cause) {
      if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", `cannot stat blob ${cid}`, { cause });
    }
    await this.#rescan();
    const [at] = this.#packed.get(cid) ?? [];
    return at && { path: this.#packPath(at.pack), offset: at.offset, length: at.length };
  }

  /** The blob from a pack, or undefined when it is not packed (a pack that vanished is looked for again once). */
  async #readPacked(cid: string): Promise<Uint8Array | undefined> {
    await this.#loaded();
    for (let attempt = 0; attempt < 2; attempt++) {
      for (const at of this.#packed.get(cid) ?? []) {
        let bytes: Buffer;
        try {
          bytes = await readRange(this.#packPath(at.pack), at.offset, at.length);
        } catch (cause) {
          if (isFsError(cause, "ENOENT")) continue;
          throw new StoreError("STORE_IO", `cannot read blob ${cid}`, { cause });
        }
        verifyBlob(cid, bytes); // a short read (a pack truncated since its index was read) fails here too
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      if (!this.#packed.has(cid)) return undefined;
      await this.#rescan(); // its pack was rewritten or deleted by another process
    }
    return undefined;
  }

  /** Whether a pack the map names for the blob is still there (another process may have rewritten it). */
  async #packsPresent(cid: string): Promise<boolean> {
    for (const { pack } of this.#packed.get(cid) ?? []) {
      if (
        await stat(this.#packPath(pack)).then(
          () => true,
          (cause: unknown) => {
            if (isFsError(cause, "ENOENT")) return false;
            throw new StoreError("STORE_IO", `cannot stat blob ${cid}`, { cause });
          },
        )
      )
        return true;
    }
    await this.#rescan();
    return this.#packed.has(cid);
  }

  /**
   * Delete a blob from a pack, under the pack's lock: its bytes and its index entry's content id are overwritten
   * with zeros, then the pack is renamed (other processes reload it); the last live blob deletes the pack. False
   * when the pack had gone already (renamed by another process: the caller looks again).
   */
  async #removeFromPack(pack: string, cid: string): Promise<boolean> {
    const path = this.#packPath(pack);
    try {
      return await withPackLock(this.#packsDir, pack, async () => {
        let entries: BlobPackEntry[];
        try {
          entries = await readBlobPackIndex(path);
        } catch (cause) {
          if (!isFsError(cause, "ENOENT")) throw cause;
          this.#dropPack(pack); // renamed by another process: the caller looks again
          await this.#rescan();
          return false;
        }
        const removed = entries.filter((entry) => entry.cid === cid);
        const kept = entries.filter((entry) => entry.cid !== cid);
        if (kept.length === 0) {
          await unlink(path);
        } else {
          const name = newPackName();
          const ranges = removed.flatMap((entry) => [entry, cidRangeOf(entry.slot)]);
          await zeroRangesAndRename(path, ranges, this.#packPath(name), this.#fsync);
          this.#addPack(name, kept);
        }
        if (this.#fsync) await syncDirectory(this.#packsDir);
        this.#dropPack(pack);
        return removed.length > 0;
      });
    } catch (cause) {
      if (cause instanceof StoreError) throw cause;
      if (isFsError(cause, "ENOENT")) {
        await this.#rescan(); // the pack folder went: the caller looks again
        return false;
      }
      const why = cause instanceof BlobPackDamaged || cause instanceof PackLockTimeout ? `: ${cause.message}` : "";
      throw new StoreError("STORE_IO", `cannot delete blob ${cid} from its pack${why}`, { cause });
    }
  }

  /** Packs are looked at once, on first use. */
  #loaded(): Promise<void> {
    return this.#scan ?? this.#rescan();
  }

  /** List the pack folder: read the index of every pack not known yet, forget those gone. */
  #rescan(): Promise<void> {
    const previous = this.#scan ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#scanPacks());
    this.#scan = next;
    next.catch(() => {
      if (this.#scan === next) this.#scan = undefined; // a failed scan is retried on the next access
    });
    return next;
  }

  async #scanPacks(): Promise<void> {
    // a pack rewritten between the listing and its read: its successor may not have been listed yet, list again
    for (let attempt = 0; attempt < 5 && !(await this.#scanOnce()); attempt++);
  }

  /** One listing of the pack folder; false when a listed pack had gone by the time its index was read. */
  async #scanOnce(): Promise<boolean> {
    let names: string[];
    try {
      names = await listPacks(this.#packsDir, PACK_SUFFIX);
    } catch (cause) {
      throw new StoreError("STORE_IO", "cannot list the blob packs", { cause });
    }
    const present = new Set(names);
    for (const known of [...this.#packs.keys(), ...this.#damaged]) {
      if (!present.has(known)) this.#dropPack(known);
    }
    let complete = true;
    for (const name of names) {
      if (this.#packs.has(name) || this.#damaged.has(name)) continue;
      try {
        this.#addPack(name, await readBlobPackIndex(this.#packPath(name)));
      } catch (cause) {
        if (cause instanceof BlobPackDamaged) this.#damaged.add(name);
        else if (isFsError(cause, "ENOENT")) complete = false;
        else throw new StoreError("STORE_IO", "cannot read a blob pack", { cause });
      }
    }
    return complete;
  }

  #addPack(name: string, entries: readonly { cid: string; offset: number; length: number }[]): void {
    this.#packs.set(
      name,
      entries.map(({ cid, offset, length }) => {
        const places = this.#packed.get(cid);
        if (places) places.push({ pack: name, offset, length });
        else this.#packed.set(cid, [{ pack: name, offset, length }]);
        return cid;
      }),
    );
  }

  #dropPack(name: string): void {
    this.#damaged.delete(name);
    for (const cid of this.#packs.get(name) ?? []) {
      const places = this.#packed.get(cid)?.filter((at) => at.pack !== name) ?? [];
      if (places.length > 0) this.#packed.set(cid, places);
      else this.#packed.delete(cid);
    }
    this.#packs.delete(name);
  }

  /** A miss is not an answer while a damaged pack might hold the blob. */
  #refuseIfDamaged(cid: string): void {
    if (this.#damaged.size > 0) {
      throw new StoreError("STORE_IO", `no blob ${cid} readable; ${this.#damaged.size} blob pack(s) are damaged`);
    }
  }

  #packPath(name: string): string {
    return join(this.#packsDir, name + PACK_SUFFIX);
  }
}
