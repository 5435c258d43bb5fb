import { createECDH, getCurves, randomFillSync } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { plain, wipe } from "./bytes";
import { CryptoError } from "./errors";
import { nativeSecp256k1, requireNativeSecp256k1, type NativeSecp256k1 } from "./native-secp256k1";
import type { ReaderPoint } from "./reader-point-cache";

/**
 * The secp256k1 operations of key wrapping, each with its backends chosen once at load time:
 *
 * 1. libsecp256k1 (native-secp256k1.ts), constant-time C, 0.04 to 0.08 ms a multiplication, whenever it loads;
 * 2. otherwise Node's OpenSSL (constant-time) for the multiplications by the generator and by a point that changes
 *    on every call, about 2.5x faster than noble's generic multiply there; OpenSSL builds without secp256k1 (some
 *    distributions) use noble;
 * 3. the multiplication by a reader's point on noble, which can precompute it (reader-point-cache.ts).
 *
 * All backends validate points and give the same bytes (test/src/crypto/ecdh.test.ts, native-secp256k1.test.ts).
 */
const OPENSSL_HAS_SECP256K1 = getCurves().includes("secp256k1");

/** The reader's side of an ECDH: the shared x-coordinate and the reader's own compressed public key. */
export interface ReaderEcdh {
  readonly sharedX: Uint8Array;
  readonly readerPublicKey: Uint8Array;
}

/**
 * @internal One implementation of the three secp256k1 operations of a wrap and an unwrap, so that a wrap made by
 * one backend can be checked against an unwrap made by another.
 */
export interface EcdhBackend {
  /** The compressed public key `e·G` of a (validated) ephemeral secret. */
  readonly ephemeralPublicKey: (secret: Uint8Array) => Uint8Array;
  /** The x-coordinate of `e·R` (32 bytes, wipe it after use), R a decoded reader. */
  readonly senderSharedX: (secret: Uint8Array, reader: ReaderPoint) => Uint8Array;
  /** The reader's side: `d·E` and `d·G`; throws `CRYPTO_FORMAT` when `E` is not a point. */
  readonly readerEcdh: (secret: Uint8Array, ephemeral: Uint8Array) => ReaderEcdh;
}

/** @internal The native backend of {@link readerEcdh}. */
export function readerEcdhNative(secret: Uint8Array, ephemeral: Uint8Array): ReaderEcdh {
  const native = requireNativeSecp256k1();
  if (!isSec1Encoding(ephemeral)) throw notAPoint();
  let sharedX: Uint8Array;
  try {
    sharedX = nativeSharedX(native, ephemeral, secret);
  } catch (cause) {
    throw notAPoint(cause);
  }
  return { sharedX, readerPublicKey: plain(native.publicKeyCreate(secret, true)) };
}

/** @internal The OpenSSL backend of {@link readerEcdh}. */
export function readerEcdhOpenSsl(secret: Uint8Array, ephemeral: Uint8Array): ReaderEcdh {
  if (!isSec1Encoding(ephemeral)) throw notAPoint();
  const ecdh = createECDH("secp256k1");
  ecdh.setPrivateKey(secret);
  const readerPublicKey = plain(ecdh.getPublicKey(null, "compressed"));
  try {
    return { sharedX: plain(ecdh.computeSecret(ephemeral)), readerPublicKey };
  } catch (cause) {
    throw notAPoint(cause);
  }
}

/** @internal The noble backend of {@link readerEcdh}. */
export function readerEcdhNoble(secret: Uint8Array, ephemeral: Uint8Array): ReaderEcdh {
  const readerPublicKey = plain(secp256k1.getPublicKey(secret, true));
  let shared: Uint8Array;
  try {
    shared = secp256k1.getSharedSecret(secret, ephemeral, true);
  } catch (cause) {
    throw notAPoint(cause);
  }
  const sharedX = shared.slice(1);
  wipe(shared);
  return { sharedX, readerPublicKey };
}

/** @internal The native backend of {@link ephemeralPublicKey}. */
export function ephemeralPublicKeyNative(secret: Uint8Array): Uint8Array {
  return plain(requireNativeSecp256k1().publicKeyCreate(secret, true));
}

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

/** @internal The native backend of {@link senderSharedX}: libsecp256k1 parses the (validated) compressed key. */
export function senderSharedXNative(secret: Uint8Array, reader: ReaderPoint): Uint8Array {
  return nativeSharedX(requireNativeSecp256k1(), reader.compressed, secret);
}

/**
 * @internal The noble backend of {@link senderSharedX}: constant-time `multiply`, which uses the reader's
 * precomputed table once reader-point-cache.ts has built it.
 */
export function senderSharedXNoble(secret: Uint8Array, reader: ReaderPoint): Uint8Array {
  const shared = reader.point.multiply(secp256k1.Point.Fn.fromBytes(secret)).toBytes(true);
  const sharedX = shared.slice(1);
  wipe(shared);
  return sharedX;
}

/** @internal libsecp256k1 for the three operations, or null where the binding does not load. */
export const NATIVE_ECDH: EcdhBackend | null = nativeSecp256k1
  ? {
      ephemeralPublicKey: ephemeralPublicKeyNative,
      senderSharedX: senderSharedXNative,
      readerEcdh: readerEcdhNative,
    }
  : null;

/** @internal The JavaScript fallback: OpenSSL where it has secp256k1 (noble otherwise), `e·R` on noble. */
export const JAVASCRIPT_ECDH: EcdhBackend = {
  ephemeralPublicKey: OPENSSL_HAS_SECP256K1 ? ephemeralPublicKeyOpenSsl : ephemeralPublicKeyNoble,
  senderSharedX: senderSharedXNoble,
  readerEcdh: OPENSSL_HAS_SECP256K1 ? readerEcdhOpenSsl : readerEcdhNoble,
};

/** @internal The backend this process uses: native when it loads, the JavaScript fallback otherwise. */
export const ECDH: EcdhBackend = NATIVE_ECDH ?? JAVASCRIPT_ECDH;

/**
 * @internal ECDH with a reader's private key (already validated) and an ephemeral public key (compressed), for
 * unwrapping. Throws `CRYPTO_FORMAT` when the ephemeral key is not a point.
 *
 * @dev The ephemeral point differs on every call, so no precomputation helps: libsecp256k1 takes about 0.08 ms
 * for `d·E` and 0.04 ms for `d·G`; without it, OpenSSL's ladder (about 0.55 ms each) beats noble's generic
 * multiply.
 */
export const readerEcdh: (secret: Uint8Array, ephemeral: Uint8Array) => ReaderEcdh = ECDH.readerEcdh;

/**
 * @internal The compressed public key `s·G` of a (validated) secret, for the ephemeral key of a wrap:
 * libsecp256k1 (about 0.04 ms), else OpenSSL (about 20% faster than noble here), else noble.
 */
export const ephemeralPublicKey: (secret: Uint8Array) => Uint8Array = ECDH.ephemeralPublicKey;

/**
 * @internal The x-coordinate of `e·R` for a wrap: libsecp256k1 (about 0.08 ms), else noble with the reader's
 * precomputed table (reader-point-cache.ts), as cheap as a base-point multiplication.
 */
export const senderSharedX: (secret: Uint8Array, reader: ReaderPoint) => Uint8Array = ECDH.senderSharedX;

/**
 * @internal A fresh random secret in [1, n-1] for an ephemeral key (wipe it after use). Out-of-range draws
 * (probability about 2^-128) are redrawn.
 */
export function randomSecret(): Uint8Array {
  const native = nativeSecp256k1;
  const secret = new Uint8Array(32);
  do randomFillSync(secret);
  while (native ? !native.privateKeyVerify(secret) : !secp256k1.utils.isValidSecretKey(secret));
  return secret;
}

/**
 * The raw x-coordinate of `secret·publicKey` from libsecp256k1 (its ECDH hands x and y to a hash function; this one
 * returns x unhashed, and both coordinate buffers are wiped once the C code has copied x out). Throws the
 * binding's error when the public key is not a point.
 */
function nativeSharedX(native: NativeSecp256k1, publicKey: Uint8Array, secret: Uint8Array): Uint8Array {
  const sharedX = new Uint8Array(32);
  let x: Uint8Array | undefined;
  let y: Uint8Array | undefined;
  try {
    native.ecdh(
      publicKey,
      secret,
      {
        hashfn: (xBytes, yBytes) => {
          x = xBytes;
          y = yBytes;
          return xBytes;
        },
      },
      sharedX,
    );
  } finally {
    wipe(x, y);
  }
  return sharedX;
}

/**
 * Whether `bytes` has the shape of a compressed (`02`/`03`, 33 bytes) or uncompressed (`04`, 65 bytes) point. noble
 * accepts only these; libsecp256k1 and OpenSSL also take the "hybrid" `06`/`07` form, refused here so that every
 * backend accepts the same inputs (wrapped keys carry `02`/`03` only, see parseWrappedKey).
 */
function isSec1Encoding(bytes: Uint8Array): boolean {
  return bytes.length === 33 ? bytes[0] === 0x02 || bytes[0] === 0x03 : bytes.length === 65 && bytes[0] === 0x04;
}

function notAPoint(cause?: unknown): CryptoError {
  return new CryptoError("CRYPTO_FORMAT", "ephemeral public key is not a point on secp256k1", { cause });
}
