import { readFile, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isFsError, writeFileAtomic, writeFilesAtomic } from "./atomic-file";
import type { BlobStore } from "./blob-store";
import { cidOf, parseCid, verifyBlob } from "./cid";
import { StoreError } from "./errors";

/** Options of {@link LocalFolderBlobStore}. */
export interface LocalFolderBlobStoreOptions {
  /** Flush each blob to disk before it becomes visible (default true). */
  readonly fsync?: boolean;
}

/**
 * The embedded default {@link BlobStore}: one file per blob under a folder,
 * `<root>/<shard>/<cid>`, written atomically (temporary file, then rename), files 0600 and folders 0700 (the
 * blobs are sealed, but which blobs exist and when they were written is the custodian's business).
 *
 * @dev Every id starts with the same 7 characters (`bafkrei`: multibase, version, codec and
 * multihash header), so the shard is the next two characters, which come from the first byte
 * of the sha2-256 digest: 256 evenly filled directories.
 */
export class LocalFolderBlobStore implements BlobStore {
  /** Absolute path of the root folder. */
  readonly root: string;
  readonly #fsync: boolean;

  constructor(root: string, options: LocalFolderBlobStoreOptions = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
  }

  /** The file that holds (or would hold) a blob. Throws `CID_INVALID`. */
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

  /** Many blobs in one batch (see `writeFilesAtomic`): each file whole or absent, one pass per step. */
  async putMany(blobs: readonly Uint8Array[]): Promise<string[]> {
    const cids = blobs.map((bytes) => cidOf(bytes));
    try {
      await writeFilesAtomic(
        blobs.map((bytes, i) => ({ path: this.pathOf(cids[i]), bytes })),
        { mode: 0o600, fsync: this.#fsync },
      );
    } catch (cause) {
      throw new StoreError("STORE_IO", `cannot write a batch of ${blobs.length} blobs`, { cause });
    }
    return cids;
  }

  async get(cid: string): Promise<Uint8Array> {
    const path = this.pathOf(cid);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) throw new StoreError("BLOB_NOT_FOUND", `no blob ${cid}`, { cause });
      throw new StoreError("STORE_IO", `cannot read blob ${cid}`, { cause });
    }
    verifyBlob(cid, bytes);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(cid: string): Promise<boolean> {
    const path = this.pathOf(cid);
    try {
      return (await stat(path)).isFile();
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return false;
      throw new StoreError("STORE_IO", `cannot stat blob ${cid}`, { cause });
    }
  }

  async delete(cid: string): Promise<boolean> {
    const path = this.pathOf(cid);
    try {
      await unlink(path);
      return true;
    } catch (cause) {
      if (isFsError(cause, "ENOENT")) return false;
      throw new StoreError("STORE_IO", `cannot delete blob ${cid}`, { cause });
    }
  }
}
