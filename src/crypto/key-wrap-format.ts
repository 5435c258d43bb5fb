import { extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { wipe } from "./bytes";
import { DATA_KEY_BYTES, NONCE_BYTES, TAG_BYTES } from "./envelope";
import { CryptoError } from "./errors";

/**
 * Wrapped data keys: ECIES on secp256k1 to one reader's Ethereum key, in two format versions. New wraps are
 * version 2; version 1 stays readable. The version byte decides the layout, and each version has exactly one length.
 *
 * Version 1, one ephemeral key per wrap (87 bytes):
 *
 * | offset | size | field                                                    |
 * | ------ | ---- | -------------------------------------------------------- |
 * | 0      | 4    | magic `TLWK` (0x54 0x4c 0x57 0x4b)                        |
 * | 4      | 1    | format version, `0x01`                                   |
 * | 5      | 1    | suite, `0x01` = secp256k1 ECDH, HKDF-SHA256, AES-256-GCM |
 * | 6      | 33   | ephemeral public key `E`, compressed                     |
 * | 39     | 32   | encrypted data key                                       |
 * | 71     | 16   | GCM tag                                                  |
 *
 * `E = e·G` for a fresh `e`; the shared secret is the x-coordinate of `e·R` (R the reader's key);
 * `HKDF-SHA256(ikm = x, salt = empty, info = WRAP_INFO ‖ E ‖ R_compressed, 44 bytes)` gives the AES-256-GCM key
 * (32) and nonce (12); the GCM associated data is bytes 0..38 (header and `E`).
 *
 * Version 2, one ephemeral key per batch and reader, a fresh salt per wrap (103 bytes):
 *
 * | offset | size | field                                                    |
 * | ------ | ---- | -------------------------------------------------------- |
 * | 0      | 4    | magic `TLWK`                                             |
 * | 4      | 1    | format version, `0x02`                                   |
 * | 5      | 1    | suite, `0x01` (as version 1)                             |
 * | 6      | 33   | ephemeral public key `E`, compressed (shared by a batch) |
 * | 39     | 16   | salt, 16 random bytes drawn for this wrap               |
 * | 55     | 32   | encrypted data key                                       |
 * | 87     | 16   | GCM tag                                                  |
 *
 * `HKDF-SHA256(ikm = x(e·R), salt = empty, info = WRAP_INFO_V2 ‖ E ‖ R_compressed ‖ salt, 44 bytes)` gives the
 * AES-256-GCM key and nonce; the associated data is bytes 0..54 (header, `E` and salt).
 *
 * @dev Version 1 derives the nonce with the key, which is safe because every wrap has its own ephemeral key, hence
 * its own AES key; but it costs two scalar multiplications (`e·G`, `e·R`) per record and reader, most of a large
 * ingest's CPU. Version 2 does them once per batch and reader (key-wrap.ts, `KeyWrapper`) and then only HKDF and
 * AES-GCM per key. Sharing `E` stays safe because the salt goes into the HKDF info: every wrap gets its own AES key
 * and nonce (two wraps collide only if their 128-bit random salts do), so no (key, nonce) pair is ever reused, and
 * knowing one wrap's data key (as its reader does) tells nothing about another wrap's KEK, which needs `x(e·R)`.
 * What a shared `E` reveals is only that wraps came from the same batch, which the batch's on-chain anchor (its
 * record tree) reveals anyway; `KeyWrapper`s are not shared across twins. Binding `E` and `R` into HKDF ties a wrap
 * to its reader (and makes `-E`, which gives the same x-coordinate, fail), binding the salt ties the KEK to the
 * wrap, and the associated data covers all three, so a tampered field fails with `CRYPTO_DECRYPT`.
 */
export const WRAPPED_KEY_MAGIC = Uint8Array.of(0x54, 0x4c, 0x57, 0x4b);
/** The format version of new wraps. */
export const WRAPPED_KEY_VERSION = 2;
/** The first format version, one ephemeral key per wrap: still readable, no longer written. */
export const WRAPPED_KEY_VERSION_1 = 1;
export const WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM = 1;
/** Domain-separating HKDF info prefix of version 1. */
export const WRAP_INFO = "TwinLedger/v1/ecies-secp256k1/data-key-wrap";
/** Domain-separating HKDF info prefix of version 2. */
export const WRAP_INFO_V2 = "TwinLedger/v2/ecies-secp256k1/data-key-wrap";
/** Bytes of the per-wrap salt of version 2. */
export const WRAP_SALT_BYTES = 16;

/** @internal Bytes of the header: magic, version, suite. */
export const HEADER_BYTES = 6;
/** @internal Bytes of the compressed ephemeral key. */
export const EPHEMERAL_BYTES = 33;
/** @internal Bytes of the authenticated prefix (header, E, and the salt in version 2). */
export const PREFIX_BYTES_V1 = HEADER_BYTES + EPHEMERAL_BYTES;
export const PREFIX_BYTES_V2 = PREFIX_BYTES_V1 + WRAP_SALT_BYTES;
/** Length of a version-1 wrapped key (87). */
export const WRAPPED_KEY_V1_BYTES = PREFIX_BYTES_V1 + DATA_KEY_BYTES + TAG_BYTES;
/** Length of a wrapped key as written now (version 2, 103 bytes). */
export const WRAPPED_KEY_BYTES = PREFIX_BYTES_V2 + DATA_KEY_BYTES + TAG_BYTES;

/** @internal The header of version-2 wraps. */
export const HEADER_V2 = Uint8Array.of(
  ...WRAPPED_KEY_MAGIC,
  WRAPPED_KEY_VERSION,
  WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM,
);
const INFO_V1 = new TextEncoder().encode(WRAP_INFO);
const INFO_V2 = new TextEncoder().encode(WRAP_INFO_V2);
const EMPTY = new Uint8Array(0);

/** The parts of a well-formed wrapped key (views into the input). */
export interface ParsedWrappedKey {
  readonly version: number;
  readonly suite: number;
  readonly ephemeralPublicKey: Uint8Array;
  /** The per-wrap salt (version 2); empty in version 1. */
  readonly salt: Uint8Array;
  /** The bytes authenticated as GCM associated data: header, `E` and (version 2) salt. */
  readonly associatedData: Uint8Array;
  readonly encryptedKey: Uint8Array;
  readonly tag: Uint8Array;
}

/**
 * Parse a wrapped key strictly; throws `CRYPTO_FORMAT` on a wrong magic, version, suite, or a length other than its
 * version's (87 bytes for version 1, 103 for version 2).
 */
export function parseWrappedKey(wrapped: Uint8Array): ParsedWrappedKey {
  if (!(wrapped instanceof Uint8Array)) throw new CryptoError("CRYPTO_FORMAT", "wrapped key must be bytes");
  if (wrapped.length < HEADER_BYTES) {
    throw new CryptoError("CRYPTO_FORMAT", `wrapped key is ${wrapped.length} bytes, shorter than its header`);
  }
  for (let i = 0; i < WRAPPED_KEY_MAGIC.length; i++) {
    if (wrapped[i] !== WRAPPED_KEY_MAGIC[i]) throw new CryptoError("CRYPTO_FORMAT", "not a TwinLedger wrapped key");
  }
  const version = wrapped[4];
  if (version !== WRAPPED_KEY_VERSION && version !== WRAPPED_KEY_VERSION_1) {
    throw new CryptoError("CRYPTO_FORMAT", `unsupported wrapped key version ${version}`);
  }
  const expected = version === WRAPPED_KEY_VERSION ? WRAPPED_KEY_BYTES : WRAPPED_KEY_V1_BYTES;
  if (wrapped.length !== expected) {
    throw new CryptoError(
      "CRYPTO_FORMAT",
      `wrapped key version ${version} is ${wrapped.length} bytes, expected ${expected}`,
    );
  }
  if (wrapped[5] !== WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM) {
    throw new CryptoError("CRYPTO_FORMAT", `unsupported wrapped key suite ${wrapped[5]}`);
  }
  const ephemeralPublicKey = wrapped.subarray(HEADER_BYTES, PREFIX_BYTES_V1);
  if (ephemeralPublicKey[0] !== 0x02 && ephemeralPublicKey[0] !== 0x03) {
    throw new CryptoError("CRYPTO_FORMAT", "ephemeral public key is not a compressed point");
  }
  const prefix = version === WRAPPED_KEY_VERSION ? PREFIX_BYTES_V2 : PREFIX_BYTES_V1;
  return {
    version,
    suite: wrapped[5],
    ephemeralPublicKey,
    salt: wrapped.subarray(PREFIX_BYTES_V1, prefix),
    associatedData: wrapped.subarray(0, prefix),
    encryptedKey: wrapped.subarray(prefix, prefix + DATA_KEY_BYTES),
    tag: wrapped.subarray(prefix + DATA_KEY_BYTES),
  };
}

/**
 * @internal The AES-256-GCM keys and nonces of the wraps made from one shared secret `x` (see the formats above):
 * `HKDF-SHA256(ikm = x, salt = empty, info, 44)`. HKDF's extract step depends on `x` alone, so it is done once, and
 * the HMAC keyed with its result is kept; each wrap then costs only the expand step (two HMAC blocks on a clone of
 * that keyed state), the same bytes as a whole HKDF. {@link WrapKeyDeriver.destroy} wipes the keyed state.
 */
export class WrapKeyDeriver {
  readonly #keyed: ReturnType<typeof hmac.create>;

  constructor(sharedX: Uint8Array) {
    const prk = extract(sha256, sharedX, EMPTY);
    this.#keyed = hmac.create(sha256, prk);
    wipe(prk);
  }

  /** The key (32 bytes, wipe it after use) and nonce (12) of one wrap; `salt` is empty in version 1. */
  derive(
    version: number,
    ephemeral: Uint8Array,
    reader: Uint8Array,
    salt: Uint8Array = EMPTY,
  ): { key: Uint8Array; nonce: Uint8Array } {
    const info = [version === WRAPPED_KEY_VERSION_1 ? INFO_V1 : INFO_V2, ephemeral, reader, salt];
    // HKDF-Expand, L = 44: T1 = HMAC(prk, info ‖ 01), T2 = HMAC(prk, T1 ‖ info ‖ 02); OKM = T1 ‖ T2[0..12)
    const first = this.#keyed.clone();
    for (const part of info) first.update(part);
    const t1 = first.update(COUNTER_1).digest();
    const second = this.#keyed.clone().update(t1);
    for (const part of info) second.update(part);
    const t2 = second.update(COUNTER_2).digest();
    const nonce = t2.slice(0, NONCE_BYTES);
    wipe(t2);
    return { key: t1.subarray(0, DATA_KEY_BYTES), nonce };
  }

  /** Wipe the keyed HMAC state; the deriver cannot derive afterwards. */
  destroy(): void {
    this.#keyed.destroy();
  }
}

const COUNTER_1 = Uint8Array.of(1);
const COUNTER_2 = Uint8Array.of(2);
