import {
  addressOf,
  openRecord,
  publicKeyOf,
  sealRecord,
  type PrivateKeyLike,
  type PublicKeyLike,
  type RecordContext,
} from "../crypto";
import type { BlobStore } from "./blob-store";
import { twinErased, type ErasureReceipt, type KeyStore } from "./key-store";
import { grantReaderKeys, type ReaderGrantResult } from "./reader-grants";

/** A record once stored: what to anchor on chain and who can open it. */
export interface StoredRecord {
  /** Content id of the envelope in the blob store. */
  readonly cid: string;
  /** keccak256 of the envelope: the `bytes32` anchored on chain. */
  readonly contentHash: string;
  /** Size of the envelope in bytes. */
  readonly size: number;
  /** Checksummed addresses of the readers holding a wrapped key. */
  readonly readers: readonly string[];
}

/** What erasing a twin did. */
export interface VaultErasure extends ErasureReceipt {
  /** Envelopes deleted from the blob store (0 when the store cannot delete, e.g. IPFS). */
  readonly deletedBlobs: number;
}

/**
 * Encrypted records over a {@link BlobStore} and a {@link KeyStore}: seal and store, open as a
 * reader, add a reader under a grant, erase a twin. Consent is checked by the caller (the
 * gateway, against the chain) before it calls `read` or `addReader`.
 */
export class RecordVault {
  constructor(
    readonly blobs: BlobStore,
    readonly keys: KeyStore,
  ) {}

  /**
   * Seal a record for its readers (typically the custodian and the patient), store the envelope
   * and the wrapped keys. Throws `TWIN_ERASED` for an erased twin before storing anything.
   */
  async put(plaintext: Uint8Array, context: RecordContext, readers: readonly PublicKeyLike[]): Promise<StoredRecord> {
    const erased = await this.keys.erasure(context.twinId);
    if (erased) throw twinErased(erased.twinId, erased.erasedAt); // before anything is stored
    const sealed = sealRecord(plaintext, context, readers);
    const cid = await this.blobs.put(sealed.envelope);
    for (const { reader, wrappedKey } of sealed.wrappedKeys) {
      await this.keys.put({ twinId: context.twinId, recordCid: cid, reader, wrappedKey });
    }
    return {
      cid,
      contentHash: sealed.contentHash,
      size: sealed.envelope.length,
      readers: sealed.wrappedKeys.map((k) => k.reader),
    };
  }

  /**
   * Open a record as a reader. The key is looked up first, so an erased twin fails with
   * `TWIN_ERASED` before any blob is read; then `BLOB_NOT_FOUND`/`BLOB_TAMPERED`,
   * `KEY_NOT_FOUND`, or `CRYPTO_DECRYPT` for a context that does not match.
   */
  async read(cid: string, context: RecordContext, readerKey: PrivateKeyLike): Promise<Uint8Array> {
    const reader = addressOf(publicKeyOf(readerKey));
    const wrappedKey = await this.keys.get({ twinId: context.twinId, recordCid: cid, reader });
    const envelope = await this.blobs.get(cid);
    return openRecord(envelope, wrappedKey, readerKey, context);
  }

  /** Re-wrap the data keys of records a grant covers for a new reader (see `grantReaderKeys`). */
  async addReader(
    twinId: string,
    recordCids: readonly string[],
    holderKey: PrivateKeyLike,
    readerPublicKey: PublicKeyLike,
  ): Promise<ReaderGrantResult> {
    return grantReaderKeys(this.keys, { twinId, recordCids, holderKey, readerPublicKey });
  }

  /**
   * Erase a twin: destroy every wrapped key held for it (after which its records cannot be
   * decrypted and reads fail with `TWIN_ERASED`), then delete its envelopes where the blob store
   * can. Check it later with `keys.erasure(twinId)` and `keys.countKeys(twinId)`.
   */
  async erase(twinId: string): Promise<VaultErasure> {
    const cids = await this.keys.records(twinId);
    const receipt = await this.keys.destroyAllForTwin(twinId);
    let deletedBlobs = 0;
    if (this.blobs.delete) {
      for (const cid of cids) if (await this.blobs.delete(cid)) deletedBlobs += 1;
    }
    return { ...receipt, deletedBlobs };
  }
}
