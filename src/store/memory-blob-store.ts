import type { BlobStore } from "./blob-store";
import { cidOf, parseCid, verifyBlob } from "./cid";
import { StoreError } from "./errors";

/** A {@link BlobStore} in memory, for tests and short-lived tools. Stores and returns copies. */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Uint8Array>();

  async put(bytes: Uint8Array): Promise<string> {
    const cid = cidOf(bytes);
    this.#blobs.set(cid, Uint8Array.from(bytes));
    return cid;
  }

  async get(cid: string): Promise<Uint8Array> {
    parseCid(cid);
    const bytes = this.#blobs.get(cid);
    if (!bytes) throw new StoreError("BLOB_NOT_FOUND", `no blob ${cid}`);
    verifyBlob(cid, bytes);
    return Uint8Array.from(bytes);
  }

  async has(cid: string): Promise<boolean> {
    parseCid(cid);
    return this.#blobs.has(cid);
  }

  async delete(cid: string): Promise<boolean> {
    parseCid(cid);
    return this.#blobs.delete(cid);
  }

  /** Number of blobs held. */
  get size(): number {
    return this.#blobs.size;
  }
}
