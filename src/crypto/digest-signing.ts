import { getBytes, type SigningKey } from "ethers";
import { bytesToHex } from "@noble/hashes/utils.js";
import { nativeSecp256k1, type NativeSecp256k1 } from "./native-secp256k1";

/**
 * An Ethereum signature of a 32-byte digest with a local key, cheaply: libsecp256k1 (src/crypto/native-secp256k1.ts)
 * where it loads, about 0.05 ms here, against 0.4 ms for ethers' `SigningKey.sign` (noble's JavaScript). Both take the
 * nonce from RFC 6979 with no extra entropy and normalize s to the lower half, so they give the same bytes for the
 * same key and digest (test/src/crypto/digest-signing.test.ts holds them equal). Used by the gateway client to sign a
 * reader's queries with an ethers Wallet; any other signer goes through its own `signTypedData`.
 *
 * @param signingKey The key (an ethers Wallet's `signingKey`).
 * @param digest 32 bytes as 0x hex.
 * @param native The binding; null selects ethers' signer (the tests use it to compare the two).
 * @returns The 65-byte signature `r ‖ s ‖ v` as 0x hex, v 27 or 28 (ethers' `Signature.serialized`).
 * @throws ethers' error for a digest that is not 32 bytes of hex.
 */
export function signDigest(
  signingKey: SigningKey,
  digest: string,
  native: NativeSecp256k1 | null = nativeSecp256k1,
): string {
  if (native === null) return signingKey.sign(digest).serialized;
  const message = getBytes(digest, "digest");
  if (message.length !== 32) return signingKey.sign(digest).serialized; // ethers' own error for a wrong length
  const { signature, recid } = native.ecdsaSign(message, privateKeyBytes(signingKey));
  return `0x${bytesToHex(signature)}${recid === 0 ? "1b" : "1c"}`;
}

/** The private key's bytes, decoded once per SigningKey. */
const privateKeys = new WeakMap<SigningKey, Uint8Array>();

function privateKeyBytes(signingKey: SigningKey): Uint8Array {
  let bytes = privateKeys.get(signingKey);
  if (bytes === undefined) {
    bytes = getBytes(signingKey.privateKey);
    privateKeys.set(signingKey, bytes);
  }
  return bytes;
}
