import { secp256k1 } from "@noble/curves/secp256k1.js";
import { computeAddress, getBytes, hexlify } from "ethers";
import { LRUCache } from "lru-cache";
import { checksumAddress, checksumOrNull } from "../crypto/address";
import { nativeSecp256k1, type NativeSecp256k1 } from "../crypto/native-secp256k1";
import { GatewayError } from "./errors";

/**
 * The gateway's signature check: which address signed an EIP-712 digest, cheaply.
 *
 * With libsecp256k1 (src/crypto/native-secp256k1.ts, the normal case) the public key is recovered natively (about
 * 0.07 ms), and a claimed reader's key, once recovered, is kept: that reader's later signatures are verified against
 * it natively (about 0.055 ms). Without it, recovery costs two full scalar multiplications in JavaScript (about 5 ms on a
 * small server core), so the gateway keeps each reader's public key, once recovered, as a curve point with
 * precomputed multiples; a later signature that claims to be that reader (the body's `reader`) is then checked by
 * plain ECDSA verification against the cached point (about 1.5 ms). Either way the cache holds public keys only
 * (derived from signatures anyone could read), never consent state.
 */

type Point = InstanceType<typeof secp256k1.Point>;

const { Point: CurvePoint } = secp256k1;
const N = CurvePoint.CURVE().n;
const HALF_N = N >> 1n;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
/** Window of the precomputed multiples of a cached reader key (2^4 points: ~25 ms once, then ~1.5 ms verifies). */
const READER_WINDOW = 4;

const mod = (a: bigint): bigint => {
  const r = a % N;
  return r < 0n ? r + N : r;
};

/** Modular inverse in the group order (extended Euclid; N is prime). */
function invert(a: bigint): bigint {
  let [lm, hm, low, high] = [1n, 0n, mod(a), N];
  while (low > 1n) {
    const q = high / low;
    [lm, hm] = [hm - lm * q, lm];
    [low, high] = [high - low * q, low];
  }
  return mod(lm);
}

interface ParsedSignature {
  readonly r: bigint;
  readonly s: bigint;
  readonly recovery: number;
}

function parse(signature: string): ParsedSignature {
  if (!SIGNATURE.test(signature)) throw badSignature("the signature must be 65 bytes of hex");
  const r = BigInt(`0x${signature.slice(2, 66)}`);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  const recovery = v >= 27 ? v - 27 : v;
  // Low-s only, as Ethereum signers produce them (EIP-2): one signature per message and key.
  if (r <= 0n || r >= N || s <= 0n || s > HALF_N || (recovery !== 0 && recovery !== 1)) {
    throw badSignature("the signature is not a valid secp256k1 signature");
  }
  return { r, s, recovery };
}

function badSignature(message: string): GatewayError {
  return new GatewayError("bad-signature", message);
}

export class SignatureVerifier {
  private readonly keys: LRUCache<string, Point>;
  /** Addresses of the public keys recovered natively (hex of the 64-byte key → checksummed address). */
  private readonly addresses: LRUCache<string, string>;
  /** Public keys (65 bytes, uncompressed) of claimed readers, once recovered natively, by checksummed address. */
  private readonly nativeKeys: LRUCache<string, Uint8Array>;

  /**
   * @param capacity Readers whose keys are kept (least recently used evicted).
   * @param native The libsecp256k1 binding; null selects the JavaScript path (the default where it does not load).
   */
  constructor(
    capacity = 4096,
    private readonly native: NativeSecp256k1 | null = nativeSecp256k1,
  ) {
    this.keys = new LRUCache({ max: capacity });
    this.addresses = new LRUCache({ max: capacity });
    this.nativeKeys = new LRUCache({ max: capacity });
  }

  /**
   * The address that signed `digest`; when `claimed` is given, it must be that address.
   * @throws GatewayError `bad-signature`.
   */
  signer(digest: string, signature: string, claimed?: string): string {
    const sig = parse(signature);
    const reader = claimed === undefined ? undefined : normalize(claimed);
    const address =
      this.native !== null
        ? this.recoverNative(this.native, digest, signature, sig.recovery, reader)
        : this.recoverJavaScript(digest, sig, reader);
    if (reader !== undefined && reader !== address) {
      throw badSignature("the signature was not made by the claimed reader");
    }
    return address;
  }

  /**
   * The JavaScript path: a claimed reader (checksummed) whose key is cached is checked by plain verification (and is
   * then the signer); otherwise the key is recovered and cached for the signer's next requests.
   */
  private recoverJavaScript(digest: string, sig: ParsedSignature, reader: string | undefined): string {
    const key = reader === undefined ? undefined : this.keys.get(reader); // a hit refreshes its place in the LRU order
    if (key !== undefined) {
      if (!verifyWith(key, BigInt(digest), sig)) {
        throw badSignature("the signature was not made by the claimed reader");
      }
      return reader!;
    }
    let publicKey: Uint8Array;
    try {
      const recovered = new Uint8Array(65);
      recovered[0] = sig.recovery;
      recovered.set(getBytes(digestBytes(sig.r)), 1);
      recovered.set(getBytes(digestBytes(sig.s)), 33);
      publicKey = secp256k1.recoverPublicKey(recovered, getBytes(digest), { prehash: false });
    } catch {
      throw badSignature("the signature does not recover a public key");
    }
    const address = computeAddress(hexlify(publicKey));
    this.remember(address, publicKey);
    return address;
  }

  /**
   * The native path: a claimed reader (checksummed) whose key was recovered before is checked by verification against that key
   * (libsecp256k1's verify is ~20% cheaper than its recovery, and no address is derived); otherwise the key is
   * recovered, and kept by address when it is the claimed reader's.
   */
  private recoverNative(
    native: NativeSecp256k1,
    digest: string,
    signature: string,
    recovery: number,
    reader: string | undefined,
  ): string {
    // The signature and digest were checked to be hex of their lengths: Buffer's decoder is the cheap one here.
    const compact = hexBytes(signature, 130);
    const message = hexBytes(digest, 66);
    const known = reader === undefined ? undefined : this.nativeKeys.get(reader); // a hit refreshes its LRU place
    if (known !== undefined) {
      if (!verifiedNatively(native, compact, message, known)) {
        throw badSignature("the signature was not made by the claimed reader");
      }
      return reader!;
    }
    let publicKey: Uint8Array;
    try {
      publicKey = native.ecdsaRecover(compact, recovery, message, false);
    } catch {
      throw badSignature("the signature does not recover a public key");
    }
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset + 1, 64).toString("hex");
    let address = this.addresses.get(id); // a hit refreshes its place in the LRU order
    if (address === undefined) {
      address = computeAddress(hexlify(publicKey));
      this.addresses.set(id, address);
    }
    if (address === reader) this.nativeKeys.set(reader, publicKey);
    return address;
  }

  private remember(address: string, publicKey: Uint8Array): void {
    if (this.keys.has(address)) return;
    const point = CurvePoint.fromBytes(publicKey);
    this.keys.set(address, point);
    // Precompute the multiples after this request is answered, not on its path.
    setImmediate(() => point.precompute(READER_WINDOW, false));
  }
}

/** libsecp256k1's verification (low s only); false for a signature it cannot parse. */
function verifiedNatively(native: NativeSecp256k1, compact: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  try {
    return native.ecdsaVerify(compact, message, key);
  } catch {
    return false;
  }
}

/** The bytes of `0x`-hex `hex` up to character `end` (exclusive); a digest that is not 32 bytes of hex is refused. */
function hexBytes(hex: string, end: number): Uint8Array {
  const bytes = Buffer.from(hex.slice(2, end), "hex");
  if (bytes.length * 2 !== end - 2) throw new Error("not hex");
  return bytes;
}

function digestBytes(value: bigint): string {
  return `0x${value.toString(16).padStart(64, "0")}`;
}

/**
 * EIP-55 form of an address the schema already checked is 20 bytes of hex, whatever its case (a claimed reader with a
 * wrong checksum is compared by its bytes, as before); cached in src/crypto/address.ts.
 */
function normalize(address: string): string {
  return checksumOrNull(address) ?? checksumAddress(address.toLowerCase());
}

/** Plain ECDSA verification against a known key: x(u1·G + u2·Q) ≡ r, with u1 = e/s, u2 = r/s. */
function verifyWith(key: Point, e: bigint, sig: ParsedSignature): boolean {
  const sInv = invert(sig.s);
  const u1 = mod(e * sInv);
  const u2 = mod(sig.r * sInv);
  const point = CurvePoint.BASE.multiplyUnsafe(u1).add(key.multiplyUnsafe(u2));
  if (point.is0()) return false;
  return mod(point.toAffine().x) === sig.r;
}
