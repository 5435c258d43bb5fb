import { wipe } from "./bytes";
import { contentHash } from "./content-hash";
import { decryptEnvelope, encryptEnvelope, type AssociatedData } from "./envelope";
import { unwrapDataKey, wrapToReader } from "./key-wrap";
import type { PrivateKeyLike, PublicKeyLike } from "./reader-keys";
import { readerPoint } from "./reader-point-cache";

/** A data key wrapped for one reader, indexed by the reader's address. */
export interface ReaderWrappedKey {
  /** Checksummed Ethereum address of the reader. */
  readonly reader: string;
  /** The wrapped data key (87 bytes, see `wrapDataKey`). */
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

/**
 * Encrypt a record under a fresh data key bound to its context and wrap that key to each
 * reader; the data key itself is wiped and never returned.
 */
export function sealRecord(
  plaintext: Uint8Array,
  context: AssociatedData,
  readerPublicKeys: readonly PublicKeyLike[],
): SealedRecord {
  const { envelope, dataKey } = encryptEnvelope(plaintext, context);
  try {
    const wrappedKeys = readerPublicKeys.map((publicKey) => {
      const reader = readerPoint(publicKey);
      return { reader: reader.address, wrappedKey: wrapToReader(dataKey, reader) };
    });
    return { envelope, contentHash: contentHash(envelope), wrappedKeys };
  } finally {
    wipe(dataKey);
  }
}

/** Open a sealed record as one reader: unwrap the data key with the reader's private key, then decrypt. */
export function openRecord(
  envelope: Uint8Array,
  wrappedKey: Uint8Array,
  readerPrivateKey: PrivateKeyLike,
  context: AssociatedData,
): Uint8Array {
  const dataKey = unwrapDataKey(wrappedKey, readerPrivateKey);
  try {
    return decryptEnvelope(envelope, dataKey, context);
  } finally {
    wipe(dataKey);
  }
}
