import type { WeierstrassPoint } from "@noble/curves/abstract/weierstrass.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { getAddress, getBytes, hashMessage, Signature, SigningKey, type BytesLike, type SignatureLike } from "ethers";
import { bytesToHex, hexToBytes, plain, wipe } from "./bytes";
import { CryptoError } from "./errors";
import { nativeSecp256k1, requireNativeSecp256k1 } from "./native-secp256k1";

/**
 * Readers are Ethereum accounts: the key that signs their queries also opens the data keys
 * wrapped for them. These helpers move between ethers keys, secp256k1 public keys and
 * addresses, so wrapped keys can be indexed by address.
 */

/**
 * A secp256k1 public key: 33 bytes compressed, 65 bytes uncompressed (`0x04 ‖ x ‖ y`) or
 * 64 bytes raw (`x ‖ y`), as bytes or hex (ethers' `SigningKey.publicKey` is accepted as is).
 */
export type PublicKeyLike = Uint8Array | string;

/** A secp256k1 private key: 32 bytes or their hex, an ethers `SigningKey`, or anything with one (a `Wallet`). */
export type PrivateKeyLike = Uint8Array | string | SigningKey | { readonly signingKey: SigningKey };

/** Decode and validate a public key; returns the point. Throws `CRYPTO_KEY_INVALID`. */
export function publicKeyPoint(publicKey: PublicKeyLike): WeierstrassPoint<bigint> {
  let bytes = typeof publicKey === "string" ? hexToBytes(publicKey) : publicKey;
  if (!(bytes instanceof Uint8Array)) throw new CryptoError("CRYPTO_KEY_INVALID", "public key must be bytes or hex");
  if (bytes.length === 64) bytes = Uint8Array.of(0x04, ...bytes);
  if (bytes.length !== 33 && bytes.length !== 65) {
    throw new CryptoError("CRYPTO_KEY_INVALID", `public key is ${bytes.length} bytes, expected 33, 64 or 65`);
  }
  try {
    return secp256k1.Point.fromBytes(bytes);
  } catch (cause) {
    throw new CryptoError("CRYPTO_KEY_INVALID", "public key is not a point on secp256k1", { cause });
  }
}

/** The 33-byte compressed form of a public key given in any accepted shape. */
export function normalizePublicKey(publicKey: PublicKeyLike): Uint8Array {
  return publicKeyPoint(publicKey).toBytes(true);
}

/**
 * A fresh copy of the 32 bytes of a private key given in any accepted shape (wipe it after use).
 * Throws `CRYPTO_KEY_INVALID`.
 */
export function privateKeyBytes(privateKey: PrivateKeyLike): Uint8Array {
  const source =
    typeof privateKey === "object" && !(privateKey instanceof Uint8Array)
      ? signingKeyOf(privateKey).privateKey
      : privateKey;
  const bytes = typeof source === "string" ? hexToBytes(source) : source;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32 || !secp256k1.utils.isValidSecretKey(bytes)) {
    throw new CryptoError("CRYPTO_KEY_INVALID", "private key must be 32 bytes in [1, n-1] of secp256k1");
  }
  return bytes === source ? Uint8Array.from(bytes) : bytes;
}

/**
 * The compressed public key of a reader, from its ethers `Wallet`/`SigningKey` or its private key.
 * This is what {@link wrapDataKey} wraps to.
 * @dev `d·G` on libsecp256k1 (about 0.04 ms) when it loads, on noble otherwise (the same bytes).
 */
export function publicKeyOf(key: PrivateKeyLike): Uint8Array {
  const secret = privateKeyBytes(key);
  try {
    return compressedPublicKey(secret);
  } finally {
    wipe(secret);
  }
}

/** @internal The native backend of the compressed public key of a validated secret. */
export function compressedPublicKeyNative(secret: Uint8Array): Uint8Array {
  return plain(requireNativeSecp256k1().publicKeyCreate(secret, true));
}

/** @internal The noble backend of the compressed public key of a validated secret. */
export function compressedPublicKeyNoble(secret: Uint8Array): Uint8Array {
  return plain(secp256k1.getPublicKey(secret, true));
}

const compressedPublicKey = nativeSecp256k1 ? compressedPublicKeyNative : compressedPublicKeyNoble;

/** The signing key of a `SigningKey` or `Wallet` (duck-typed, so another copy of ethers works too). */
function signingKeyOf(key: SigningKey | { readonly signingKey: SigningKey }): SigningKey {
  const signingKey = "signingKey" in key ? key.signingKey : key;
  if (typeof signingKey?.privateKey !== "string") {
    throw new CryptoError("CRYPTO_KEY_INVALID", "expected a private key, an ethers SigningKey or a Wallet");
  }
  return signingKey;
}

/** The checksummed Ethereum address of a public key (keccak256 of `x ‖ y`, last 20 bytes). */
export function addressOf(publicKey: PublicKeyLike): string {
  return addressOfPoint(publicKeyPoint(publicKey));
}

/** @internal The address of an already validated point. */
export function addressOfPoint(point: WeierstrassPoint<bigint>): string {
  const xy = point.toBytes(false).subarray(1);
  return getAddress(bytesToHex(keccak_256(xy).subarray(12)));
}

/**
 * The public key that signed an EIP-191 personal message (`personal_sign`, ethers
 * `signer.signMessage`). Throws `CRYPTO_SIGNATURE_INVALID`.
 */
export function publicKeyFromSignature(message: string | Uint8Array, signature: SignatureLike): Uint8Array {
  return publicKeyFromDigest(hashMessage(message), signature);
}

/**
 * The public key that signed a 32-byte digest, e.g. an EIP-712 digest from
 * `TypedDataEncoder.hash`. Throws `CRYPTO_SIGNATURE_INVALID`.
 * @dev Recovery runs on libsecp256k1 (about 0.08 ms) when it loads, on ethers (noble) otherwise;
 * both parse the signature with ethers' `Signature.from` and give the same compressed key.
 */
export const publicKeyFromDigest: (digest: BytesLike, signature: SignatureLike) => Uint8Array = nativeSecp256k1
  ? publicKeyFromDigestNative
  : publicKeyFromDigestEthers;

/** @internal The native backend of {@link publicKeyFromDigest}. */
export function publicKeyFromDigestNative(digest: BytesLike, signature: SignatureLike): Uint8Array {
  const native = requireNativeSecp256k1();
  try {
    const hash = getBytes(digest);
    if (hash.length !== 32) throw new Error(`digest is ${hash.length} bytes, expected 32`);
    const sig = Signature.from(signature);
    const compact = new Uint8Array(64);
    compact.set(getBytes(sig.r), 0);
    compact.set(getBytes(sig.s), 32);
    return plain(native.ecdsaRecover(compact, sig.yParity, hash, true));
  } catch (cause) {
    throw unrecoverable(cause);
  }
}

/** @internal The ethers (noble) backend of {@link publicKeyFromDigest}. */
export function publicKeyFromDigestEthers(digest: BytesLike, signature: SignatureLike): Uint8Array {
  let recovered: string;
  try {
    recovered = SigningKey.recoverPublicKey(digest, signature);
  } catch (cause) {
    throw unrecoverable(cause);
  }
  return normalizePublicKey(recovered);
}

function unrecoverable(cause: unknown): CryptoError {
  return new CryptoError("CRYPTO_SIGNATURE_INVALID", "no public key can be recovered from this signature", { cause });
}
