import {
  addressOf,
  KeyUnwrapper,
  openRecord,
  publicKeyOf,
  sealRecord,
  sealRecords,
  type PrivateKeyLike,
  type PublicKeyLike,
  type RecordContext,
  type RecordToSeal as SealInput,
} from "../crypto";
import type { BlobStore } from "./blob-store";
import { cidOf } from "./cid";
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

/** A record to seal and store: its plaintext, its context (twin, key, category) and its readers. */
export interface RecordToSeal extends SealInput {
  readonly context: RecordContext;
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
   * Seal and store many records at once (as `put` each): each twin's erasure is checked once, the envelopes are
   * stored in one batch and the wrapped keys in another where the stores can batch (`putMany`), else one by one.
   * The records are sealed together (`sealRecords`): one ephemeral key per twin and reader for the whole call.
   * Returns the stored records in order. On failure, the envelopes and keys this call stored are removed (best
   * effort) before it rethrows.
   */
  async putMany(records: readonly RecordToSeal[]): Promise<StoredRecord[]> {
    for (const twinId of new Set(records.map((record) => record.context.twinId))) {
      const erased = await this.keys.erasure(twinId);
      if (erased) throw twinErased(erased.twinId, erased.erasedAt); // before anything is stored
    }
    const sealed = sealRecords(records);
    const envelopes = sealed.map((s) => s.envelope);
    const cids: string[] = [];
    const entries = () =>
      sealed.flatMap((s, i) =>
        s.wrappedKeys.map(({ reader, wrappedKey }) => ({
          twinId: records[i].context.twinId,
          recordCid: cids[i],
          reader,
          wrappedKey,
        })),
      );
    try {
      if (this.blobs.putMany) cids.push(...(await this.blobs.putMany(envelopes)));
      else for (const envelope of envelopes) cids.push(await this.blobs.put(envelope));
      if (this.keys.putMany) await this.keys.putMany(entries());
      else for (const entry of entries()) await this.keys.put(entry);
    } catch (error) {
      await this.#undo(
        sealed.map((s, i) => ({ twinId: records[i].context.twinId, envelope: s.envelope, readers: s.wrappedKeys })),
      );
      throw error;
    }
    return sealed.map((s, i) => ({
      cid: cids[i],
      contentHash: s.contentHash,
      size: s.envelope.length,
      readers: s.wrappedKeys.map((k) => k.reader),
    }));
  }

  /** Remove the keys and envelopes a failed `putMany` may have stored (best effort). */
  async #undo(
    sealed: readonly { twinId: string; envelope: Uint8Array; readers: readonly { reader: string }[] }[],
  ): Promise<void> {
    for (const { twinId, envelope, readers } of sealed) {
      const recordCid = cidOf(envelope);
      for (const { reader } of readers) await this.keys.remove({ twinId, recordCid, reader }).catch(() => false);
      if (this.blobs.delete) await this.blobs.delete(recordCid).catch(() => false);
    }
  }

  /**
   * Open a record as a reader. The key is looked up first, so an erased twin fails with
   * `TWIN_ERASED` before any blob is read; then `BLOB_NOT_FOUND`/`BLOB_TAMPERED`,
   * `KEY_NOT_FOUND`, or `CRYPTO_DECRYPT` for a context that does not match. To read many records as one reader,
   * pass a `KeyUnwrapper` of its key (and dispose it after): records sealed in one batch then share one ECDH.
   */
  async read(cid: string, context: RecordContext, readerKey: PrivateKeyLike | KeyUnwrapper): Promise<Uint8Array> {
    const reader = readerKey instanceof KeyUnwrapper ? readerKey.reader : addressOf(publicKeyOf(readerKey));
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
