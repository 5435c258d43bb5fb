import { randomBytes } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { WRAP_INFO, WRAP_INFO_V2 } from "../../../src/crypto";

/**
 * The wrapped-key formats rebuilt independently with noble (the module uses OpenSSL for HKDF and AES-GCM): version
 * 1, which the module no longer writes but must keep reading, and version 2, to check the module's wraps by hand.
 */
const ascii = (text: string) => new TextEncoder().encode(text);
export const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** A version-1 wrapped key (87 bytes) of `dataKey` to a reader's public key (any SEC1 form). */
export function wrapV1(dataKey: Uint8Array, readerPublicKey: Uint8Array): Uint8Array {
  const reader = secp256k1.Point.fromBytes(readerPublicKey).toBytes(true);
  const e = secp256k1.keygen();
  const E = secp256k1.getPublicKey(e.secretKey, true);
  const x = secp256k1.getSharedSecret(e.secretKey, reader, true).subarray(1);
  const okm = hkdf(sha256, x, new Uint8Array(0), concat(ascii(WRAP_INFO), E, reader), 44);
  const prefix = concat(Uint8Array.of(0x54, 0x4c, 0x57, 0x4b, 1, 1), E);
  return concat(prefix, gcm(okm.subarray(0, 32), okm.subarray(32), prefix).encrypt(dataKey));
}

/** A version-2 wrapped key (103 bytes) of `dataKey` to a reader under the ephemeral secret `e` and `salt`. */
export function wrapV2(
  dataKey: Uint8Array,
  readerPublicKey: Uint8Array,
  e: Uint8Array = secp256k1.utils.randomSecretKey(),
  salt: Uint8Array = randomBytes(16),
): Uint8Array {
  const reader = secp256k1.Point.fromBytes(readerPublicKey).toBytes(true);
  const E = secp256k1.getPublicKey(e, true);
  const { key, nonce } = kekV2(secp256k1.getSharedSecret(e, reader, true).subarray(1), E, reader, salt);
  const prefix = concat(Uint8Array.of(0x54, 0x4c, 0x57, 0x4b, 2, 1), E, salt);
  return concat(prefix, gcm(key, nonce, prefix).encrypt(dataKey));
}

/** The KEK and nonce of a version-2 wrap, from the shared x-coordinate. */
export function kekV2(
  x: Uint8Array,
  E: Uint8Array,
  reader: Uint8Array,
  salt: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const okm = hkdf(sha256, x, new Uint8Array(0), concat(ascii(WRAP_INFO_V2), E, reader, salt), 44);
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32) };
}

/** Open a module-made version-2 wrap by hand with the reader's secret key; returns the data key and the KEK. */
export function openV2(wrapped: Uint8Array, readerSecret: Uint8Array): { dataKey: Uint8Array; kek: Uint8Array } {
  const reader = secp256k1.getPublicKey(readerSecret, true);
  const E = wrapped.subarray(6, 39);
  const salt = wrapped.subarray(39, 55);
  const x = secp256k1.getSharedSecret(readerSecret, E, true).subarray(1);
  const { key, nonce } = kekV2(x, E, reader, salt);
  return { dataKey: gcm(key, nonce, wrapped.subarray(0, 55)).decrypt(wrapped.subarray(55)), kek: key };
}
