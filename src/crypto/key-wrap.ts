import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import { concatBytes, plain, wipe } from "./bytes";
import { DATA_KEY_BYTES, NONCE_BYTES, TAG_BYTES } from "./envelope";
import { ECDH, randomSecret, type EcdhBackend, type ReaderEcdh } from "./ecdh";
import { CryptoError } from "./errors";
import { privateKeyBytes, type PrivateKeyLike, type PublicKeyLike } from "./reader-keys";
import { readerPoint, type ReaderPoint } from "./reader-point-cache";

/**
 * Wrapped data key, format version 1: ECIES on secp256k1 to one reader's Ethereum key.
 *
 * | offset | size | field                                                    |
 * | ------ | ---- | -------------------------------------------------------- |
 * | 0      | 4    | magic `TLWK` (0x54 0x4c 0x57 0x4b)                        |
 * | 4      | 1    | format version, `0x01`                                   |
 * | 5      | 1    | suite, `0x01` = secp256k1 ECDH, HKDF-SHA256, AES-256-GCM |
 * | 6      | 33   | ephemeral public key, compressed                         |
 * | 39     | 32   | encrypted data key                                       |
 * | 71     | 16   | GCM tag                                                  |
 *
 * Total 87 bytes. Wrapping: a fresh ephemeral key `e`, `E = e·G`; the shared secret is the
 * x-coordinate of `e·R` (R the reader's key); `HKDF-SHA256(ikm = x, salt = empty,
 * info = WRAP_INFO ‖ E ‖ R_compressed, 44 bytes)` gives the AES-256-GCM key (32) and nonce (12);
 * the GCM associated data is bytes 0..38 (header and `E`).
 *
 * @dev Deriving the nonce with the key is safe because every wrap has its own ephemeral key,
 * hence its own AES key. Binding `E` and `R` into HKDF ties the wrap to its reader (and makes
 * `-E`, which gives the same x-coordinate, fail). Cost is two scalar multiplications, `e·G` and
 * `e·R`, on libsecp256k1 (about 0.12 ms together) or, where it does not load, `e·G` on OpenSSL and
 * `e·R` on noble with a per-reader precomputed table (reader-point-cache.ts); unwrapping does
 * `d·E` and `d·G` the same way (ecdh.ts). AES-GCM and HKDF run on OpenSSL.
 */
export const WRAPPED_KEY_MAGIC = Uint8Array.of(0x54, 0x4c, 0x57, 0x4b);
export const WRAPPED_KEY_VERSION = 1;
export const WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM = 1;
/** Domain-separating HKDF info prefix. */
export const WRAP_INFO = "TwinLedger/v1/ecies-secp256k1/data-key-wrap";
const EPHEMERAL_BYTES = 33;
const HEADER_BYTES = 6;
const PREFIX_BYTES = HEADER_BYTES + EPHEMERAL_BYTES;
export const WRAPPED_KEY_BYTES = PREFIX_BYTES + DATA_KEY_BYTES + TAG_BYTES;
const HEADER = Uint8Array.of(
  ...WRAPPED_KEY_MAGIC,
  WRAPPED_KEY_VERSION,
  WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM,
);
const INFO_BYTES = new TextEncoder().encode(WRAP_INFO);

/** The parts of a well-formed wrapped key (views into the input). */
export interface ParsedWrappedKey {
  readonly version: number;
  readonly suite: number;
  readonly ephemeralPublicKey: Uint8Array;
  readonly encryptedKey: Uint8Array;
  readonly tag: Uint8Array;
}

/** Parse a wrapped key strictly; throws `CRYPTO_FORMAT` on a wrong magic, version, suite or length. */
export function parseWrappedKey(wrapped: Uint8Array): ParsedWrappedKey {
  if (!(wrapped instanceof Uint8Array)) throw new CryptoError("CRYPTO_FORMAT", "wrapped key must be bytes");
  if (wrapped.length !== WRAPPED_KEY_BYTES) {
    throw new CryptoError("CRYPTO_FORMAT", `wrapped key is ${wrapped.length} bytes, expected ${WRAPPED_KEY_BYTES}`);
  }
  for (let i = 0; i < WRAPPED_KEY_MAGIC.length; i++) {
    if (wrapped[i] !== WRAPPED_KEY_MAGIC[i]) throw new CryptoError("CRYPTO_FORMAT", "not a TwinLedger wrapped key");
  }
  if (wrapped[4] !== WRAPPED_KEY_VERSION) {
    throw new CryptoError("CRYPTO_FORMAT", `unsupported wrapped key version ${wrapped[4]}`);
  }
  if (wrapped[5] !== WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM) {
    throw new CryptoError("CRYPTO_FORMAT", `unsupported wrapped key suite ${wrapped[5]}`);
  }
  const ephemeralPublicKey = wrapped.subarray(HEADER_BYTES, PREFIX_BYTES);
  if (ephemeralPublicKey[0] !== 0x02 && ephemeralPublicKey[0] !== 0x03) {
    throw new CryptoError("CRYPTO_FORMAT", "ephemeral public key is not a compressed point");
  }
  return {
    version: wrapped[4],
    suite: wrapped[5],
    ephemeralPublicKey,
    encryptedKey: wrapped.subarray(PREFIX_BYTES, PREFIX_BYTES + DATA_KEY_BYTES),
    tag: wrapped.subarray(PREFIX_BYTES + DATA_KEY_BYTES),
  };
}

/** Wrap a 32-byte data key to one reader's public key (see the format above). */
export function wrapDataKey(dataKey: Uint8Array, readerPublicKey: PublicKeyLike): Uint8Array {
  return wrapToReader(dataKey, readerPoint(readerPublicKey));
}

/**
 * @internal {@link wrapDataKey} to an already decoded reader.
 * @param backend The secp256k1 backend (ecdh.ts); tests pass one explicitly, callers keep the default.
 */
export function wrapToReader(
  dataKey: Uint8Array,
  reader: ReaderPoint,
  backend: Pick<EcdhBackend, "ephemeralPublicKey" | "senderSharedX"> = ECDH,
): Uint8Array {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) {
    throw new CryptoError("CRYPTO_KEY_INVALID", `data key must be ${DATA_KEY_BYTES} bytes`);
  }
  const ephemeralSecret = randomSecret();
  let ephemeral: Uint8Array;
  let sharedX: Uint8Array;
  try {
    ephemeral = backend.ephemeralPublicKey(ephemeralSecret);
    sharedX = backend.senderSharedX(ephemeralSecret, reader);
  } finally {
    wipe(ephemeralSecret);
  }
  const out = new Uint8Array(WRAPPED_KEY_BYTES);
  out.set(HEADER, 0);
  out.set(ephemeral, HEADER_BYTES);
  const { key, nonce } = deriveWrapKey(sharedX, ephemeral, reader.compressed);
  wipe(sharedX);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(out.subarray(0, PREFIX_BYTES));
  const body = cipher.update(dataKey);
  cipher.final();
  wipe(key);
  out.set(body, PREFIX_BYTES);
  out.set(cipher.getAuthTag(), PREFIX_BYTES + DATA_KEY_BYTES);
  return out;
}

/**
 * Unwrap a data key with the reader's private key. Throws `CRYPTO_FORMAT` for malformed bytes
 * and `CRYPTO_DECRYPT` when the key was wrapped to someone else or the bytes were tampered with.
 */
export function unwrapDataKey(wrapped: Uint8Array, readerPrivateKey: PrivateKeyLike): Uint8Array {
  return unwrapDataKeyWith(wrapped, readerPrivateKey, ECDH);
}

/** @internal {@link unwrapDataKey} with an explicit secp256k1 backend (ecdh.ts), for tests. */
export function unwrapDataKeyWith(
  wrapped: Uint8Array,
  readerPrivateKey: PrivateKeyLike,
  backend: Pick<EcdhBackend, "readerEcdh">,
): Uint8Array {
  const { ephemeralPublicKey, encryptedKey, tag } = parseWrappedKey(wrapped);
  const secret = privateKeyBytes(readerPrivateKey);
  let ecdh: ReaderEcdh;
  try {
    ecdh = backend.readerEcdh(secret, ephemeralPublicKey);
  } finally {
    wipe(secret);
  }
  const { sharedX, readerPublicKey } = ecdh;
  const { key, nonce } = deriveWrapKey(sharedX, ephemeralPublicKey, readerPublicKey);
  wipe(sharedX);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  decipher.setAAD(wrapped.subarray(0, PREFIX_BYTES));
  const body = decipher.update(encryptedKey);
  wipe(key);
  try {
    decipher.final();
  } catch (cause) {
    wipe(body);
    throw new CryptoError("CRYPTO_DECRYPT", "wrapped key does not open with this key (other reader or tampered)", {
      cause,
    });
  }
  return plain(body);
}

function deriveWrapKey(
  sharedX: Uint8Array,
  ephemeral: Uint8Array,
  reader: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const info = concatBytes(INFO_BYTES, ephemeral, reader);
  const okm = new Uint8Array(hkdfSync("sha256", sharedX, new Uint8Array(0), info, DATA_KEY_BYTES + NONCE_BYTES));
  return { key: okm.subarray(0, DATA_KEY_BYTES), nonce: okm.subarray(DATA_KEY_BYTES) };
}
