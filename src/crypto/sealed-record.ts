import { wipe } from "./bytes";
import { contentHash } from "./content-hash";
import { decryptEnvelope, encryptEnvelope, type AssociatedData } from "./envelope";
import { KeyUnwrapper, KeyWrapper, unwrapDataKey } from "./key-wrap";
import type { PrivateKeyLike, PublicKeyLike } from "./reader-keys";
import { readerPoint } from "./reader-point-cache";

/** A data key wrapped for one reader, indexed by the reader's address. */
export interface ReaderWrappedKey {
  /** Checksummed Ethereum address of the reader. */
  readonly reader: string;
  /** The wrapped data key (103 bytes, format version 2, see key-wrap-format.ts). */
  readonly wrappedKey: Uint8Array;
}

/** One record sealed for its readers. */
export interface SealedRecord {
  /** The encrypted envelope: the bytes to store. */
  readonly envelope: Uint8Array;
  /** keccak256 of the envelope, the `bytes32` to anchor on chain. */
  readonly contentHash: string;
  /** The data key wrapped once per reader, in the order the readers were given. */
  readonly wrappedKeys: readonly ReaderWrappedKey[];
}

/** A record to seal: its plaintext, its context (bound into the envelope) and its readers' public keys. */
export interface RecordToSeal {
  readonly plaintext: Uint8Array;
  readonly context: AssociatedData;
  readonly readers: readonly PublicKeyLike[];
}

/**
 * Encrypt a record under a fresh data key bound to its context and wrap that key to each
 * reader; the data key itself is wiped and never returned.
 */
export function sealRecord(
  plaintext: Uint8Array,
  context: AssociatedData,
  readerPublicKeys: readonly PublicKeyLike[],
): SealedRecord {
  return sealRecords([{ plaintext, context, readers: readerPublicKeys }])[0];
}

/**
 * Seal many records (each as {@link sealRecord}: its own data key, its envelope and content hash unchanged), in
 * order, with one {@link KeyWrapper} per twin and reader for the whole call: the two scalar multiplications of a
 * wrap are paid once per twin and reader, not once per record.
 *
 * @dev Wrappers are not shared across twins, so a shared ephemeral key links only records of one twin sealed in
 * one call (one ingest batch, which its anchor reveals anyway); records with a raw-bytes context count as one
 * group. Every wrapper is disposed (its shared secret wiped) before this returns or throws.
 */
export function sealRecords(records: readonly RecordToSeal[]): SealedRecord[] {
  const wrappers = new Map<string, KeyWrapper>();
  const wrapperFor = (context: AssociatedData, publicKey: PublicKeyLike): KeyWrapper => {
    const reader = readerPoint(publicKey);
    const id = `${context instanceof Uint8Array ? "" : context.twinId}/${reader.address}`;
    let wrapper = wrappers.get(id);
    if (wrapper === undefined) wrappers.set(id, (wrapper = new KeyWrapper(reader)));
    return wrapper;
  };
  try {
    return records.map(({ plaintext, context, readers }) => {
      const { envelope, dataKey } = encryptEnvelope(plaintext, context);
      try {
        const wrappedKeys = readers.map((publicKey) => {
          const wrapper = wrapperFor(context, publicKey);
          return { reader: wrapper.reader, wrappedKey: wrapper.wrap(dataKey) };
        });
        return { envelope, contentHash: contentHash(envelope), wrappedKeys };
      } finally {
        wipe(dataKey);
      }
    });
  } finally {
    for (const wrapper of wrappers.values()) wrapper.dispose();
  }
}

/**
 * Open a sealed record as one reader: unwrap the data key with the reader's private key, then decrypt. To open many
 * records, pass a {@link KeyUnwrapper} of the reader's key: records wrapped in one batch then share one ECDH.
 */
export function openRecord(
  envelope: Uint8Array,
  wrappedKey: Uint8Array,
  reader: PrivateKeyLike | KeyUnwrapper,
  context: AssociatedData,
): Uint8Array {
  const dataKey = reader instanceof KeyUnwrapper ? reader.unwrap(wrappedKey) : unwrapDataKey(wrappedKey, reader);
  try {
    return decryptEnvelope(envelope, dataKey, context);
  } finally {
    wipe(dataKey);
  }
}
