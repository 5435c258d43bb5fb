import { addressOf, KeyUnwrapper, keyWrapper, publicKeyOf, type PrivateKeyLike, type PublicKeyLike } from "../crypto";
import type { KeyStore } from "./key-store";

/** A grant's effect on the key store: which records a new reader gets keys for, and from whom. */
export interface ReaderGrant {
  /** The twin the records belong to. */
  readonly twinId: string;
  /** Content ids of the records the grant covers (the caller decides coverage from the on-chain grant). */
  readonly recordCids: readonly string[];
  /** A key that already holds each record's data key: the custodian's or the patient's. */
  readonly holderKey: PrivateKeyLike;
  /** The new reader's public key (e.g. recovered from its signed request with `publicKeyFromSignature`). */
  readonly readerPublicKey: PublicKeyLike;
}

/** What {@link grantReaderKeys} did. */
export interface ReaderGrantResult {
  /** Checksummed address of the new reader, under which the keys are stored. */
  readonly reader: string;
  /** Content ids that got a key wrapped to the reader, in the order given. */
  readonly recordCids: readonly string[];
}

/**
 * Give a reader access to records a grant covers by re-wrapping: for each record, unwrap the
 * data key with the holder's key, wrap it to the reader and store it under the reader's address.
 * The ciphertext is untouched and the data key is wiped after use. Fails with the store's errors
 * (`KEY_NOT_FOUND` when the holder has no key for a record, `TWIN_ERASED`) or `CRYPTO_DECRYPT`
 * when the holder key does not open the stored key; records processed before a failure keep
 * their new key.
 *
 * @dev The whole grant is one batch: one ephemeral key for the reader's new wraps (format version 2, each with
 * its own salt), and the holder's unwraps share `d·E` per ephemeral key they meet (version-1 keys each pay
 * their own), so a grant over one ingest's records costs a few scalar multiplications, not two or three per record.
 */
export async function grantReaderKeys(keys: KeyStore, grant: ReaderGrant): Promise<ReaderGrantResult> {
  const holder = addressOf(publicKeyOf(grant.holderKey));
  const unwrapper = new KeyUnwrapper(grant.holderKey);
  const wrapper = keyWrapper(grant.readerPublicKey);
  const reader = wrapper.reader;
  const done: string[] = [];
  try {
    for (const recordCid of grant.recordCids) {
      const held = await keys.get({ twinId: grant.twinId, recordCid, reader: holder });
      const dataKey = unwrapper.unwrap(held);
      try {
        await keys.put({ twinId: grant.twinId, recordCid, reader, wrappedKey: wrapper.wrap(dataKey) });
      } finally {
        dataKey.fill(0);
      }
      done.push(recordCid);
    }
  } finally {
    wrapper.dispose();
    unwrapper.dispose();
  }
  return { reader, recordCids: done };
}

/** Withdraw a reader's keys for records (e.g. after revocation); returns how many were removed. */
export async function revokeReaderKeys(
  keys: KeyStore,
  twinId: string,
  reader: string,
  recordCids: readonly string[],
): Promise<number> {
  let removed = 0;
  for (const recordCid of recordCids) if (await keys.remove({ twinId, recordCid, reader })) removed += 1;
  return removed;
}
