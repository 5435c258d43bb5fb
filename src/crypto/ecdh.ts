import { createECDH, getCurves } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { plain } from "./bytes";
import { CryptoError } from "./errors";

/**
 * The secp256k1 scalar multiplications that Node's OpenSSL (constant-time) does faster than
 * noble: by the generator, and by a point that changes on every call. Multiplications by a
 * reader's point stay on noble, which can precompute them (see reader-point-cache.ts).
 */
const OPENSSL_HAS_SECP256K1 = getCurves().includes("secp256k1");

/** The reader's side of an ECDH: the shared x-coordinate and the reader's own compressed public key. */
export interface ReaderEcdh {
  readonly sharedX: Uint8Array;
  readonly readerPublicKey: Uint8Array;
}

/**
 * @internal ECDH with a reader's private key (already validated) and an ephemeral public key
 * (compressed), for unwrapping. Throws `CRYPTO_FORMAT` when the ephemeral key is not a point.
 *
 * @dev The ephemeral point differs on every call, so no precomputation helps; OpenSSL's
 * constant-time ladder (Node's `createECDH`) is then about 2.5x faster than noble's generic
 * multiply. OpenSSL builds without secp256k1 (some distributions) fall back to noble; both
 * validate the point and give the same x-coordinate (test/src/crypto/ecdh.test.ts).
 */
export const readerEcdh: (secret: Uint8Array, ephemeral: Uint8Array) => ReaderEcdh = OPENSSL_HAS_SECP256K1
  ? readerEcdhOpenSsl
  : readerEcdhNoble;

/** @internal The OpenSSL backend of {@link readerEcdh}. */
export function readerEcdhOpenSsl(secret: Uint8Array, ephemeral: Uint8Array): ReaderEcdh {
  const ecdh = createECDH("secp256k1");
  ecdh.setPrivateKey(secret);
  const readerPublicKey = plain(ecdh.getPublicKey(null, "compressed"));
  try {
    return { sharedX: plain(ecdh.computeSecret(ephemeral)), readerPublicKey };
  } catch (cause) {
    throw new CryptoError("CRYPTO_FORMAT", "ephemeral public key is not a point on secp256k1", { cause });
  }
}

/** @internal The noble backend of {@link readerEcdh}. */
export function readerEcdhNoble(secret: Uint8Array, ephemeral: Uint8Array): ReaderEcdh {
  const readerPublicKey = plain(secp256k1.getPublicKey(secret, true));
  let shared: Uint8Array;
  try {
    shared = secp256k1.getSharedSecret(secret, ephemeral, true);
  } catch (cause) {
    throw new CryptoError("CRYPTO_FORMAT", "ephemeral public key is not a point on secp256k1", { cause });
  }
  return { sharedX: plain(shared.subarray(1)), readerPublicKey };
}

/**
 * @internal The compressed public key `s·G` of a (validated) secret, for the ephemeral key of a
 * wrap. OpenSSL's fixed-base multiplication is about 20% faster than noble's here; builds
 * without secp256k1 fall back to noble. Both give the same point (test/src/crypto/ecdh.test.ts).
 */
export const ephemeralPublicKey: (secret: Uint8Array) => Uint8Array = OPENSSL_HAS_SECP256K1
  ? ephemeralPublicKeyOpenSsl
  : ephemeralPublicKeyNoble;

/** @internal The OpenSSL backend of {@link ephemeralPublicKey}. */
export function ephemeralPublicKeyOpenSsl(secret: Uint8Array): Uint8Array {
  const ecdh = createECDH("secp256k1");
  ecdh.setPrivateKey(secret);
  return plain(ecdh.getPublicKey(null, "compressed"));
}

/** @internal The noble backend of {@link ephemeralPublicKey}. */
export function ephemeralPublicKeyNoble(secret: Uint8Array): Uint8Array {
  return plain(secp256k1.getPublicKey(secret, true));
}
