/**
 * Where encrypted blobs live, addressed by their content id (see `cidOf`). The local folder is
 * the embedded default; an IPFS node implements the same interface for scale-out.
 *
 * Every implementation re-hashes on `get` and refuses bytes that no longer match their id.
 */
export interface BlobStore {
  /** Store bytes; returns their content id. Idempotent: the same bytes give the same id. */
  put(bytes: Uint8Array): Promise<string>;
  /**
   * Store many blobs at once; returns their content ids in order. Optional: a store that batches writes (one pass
   * per step instead of one round per blob) implements it; callers fall back to `put`. Each blob is visible whole
   * or not at all; on failure some may be stored (content-addressed, so storing them again is harmless).
   */
  putMany?(blobs: readonly Uint8Array[]): Promise<string[]>;
  /** The bytes under a content id. Throws `CID_INVALID`, `BLOB_NOT_FOUND` or `BLOB_TAMPERED`. */
  get(cid: string): Promise<Uint8Array>;
  /** Whether a blob is stored under the id (it is verified on `get`, not here). Throws `CID_INVALID`. */
  has(cid: string): Promise<boolean>;
  /** Remove a blob; returns whether it was there. Optional: an IPFS node may only unpin. */
  delete?(cid: string): Promise<boolean>;
}
