/**
 * libsecp256k1, the constant-time C library of Bitcoin Core, through the `secp256k1` npm package's N-API binding.
 *
 * The package ships prebuilt binaries (linux-x64 glibc and musl, darwin-arm64, win32-x64) that load without an
 * install script, so `npm ci` needs no compiler for it. Its scalar multiplications take 0.04 to 0.08 ms here, against
 * 0.5 to 0.6 ms for noble's JavaScript and OpenSSL's generic secp256k1 code (src/evaluation, part 3).
 *
 * `require("secp256k1")` would fall back silently to the `elliptic` JavaScript code when the binding does not load
 * (and that fallback had a private-key leak in ECDH, CVE-2024-48930). This module loads the binding alone: where it
 * does not load, {@link nativeSecp256k1} is null and every caller keeps its own noble or OpenSSL path, which gives the
 * same bytes (test/src/crypto/native-secp256k1.test.ts).
 */

/** The functions of the binding that TwinLedger uses (all inputs are validated by the C code). */
export interface NativeSecp256k1 {
  /** Whether `privateKey` is 32 bytes in [1, n-1]. */
  privateKeyVerify(privateKey: Uint8Array): boolean;
  /** The public key `d·G`, compressed (33 bytes) or not (65 bytes). Throws for an invalid key. */
  publicKeyCreate(privateKey: Uint8Array, compressed?: boolean): Uint8Array;
  /** Re-encodes a public key (33 or 65 bytes). Throws when it is not a point. */
  publicKeyConvert(publicKey: Uint8Array, compressed?: boolean): Uint8Array;
  /** `d·P`, hashed by `options.hashfn(x, y)` into `output`. Throws when `P` is not a point. */
  ecdh(
    publicKey: Uint8Array,
    privateKey: Uint8Array,
    options: { hashfn: (x: Uint8Array, y: Uint8Array, data?: Uint8Array) => Uint8Array },
    output: Uint8Array,
  ): Uint8Array;
  /** The public key that made a 64-byte compact signature (r ‖ s) of a 32-byte digest. Throws when none does. */
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed?: boolean): Uint8Array;
  /**
   * The ECDSA signature of a 32-byte digest, compact (r ‖ s, low s) with its recovery id; the nonce from RFC 6979
   * (no extra data). Throws for an invalid key.
   */
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { readonly signature: Uint8Array; readonly recid: number };
  /** ECDSA verification of a 64-byte compact, low-s signature. */
  ecdsaVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

function load(): NativeSecp256k1 | null {
  if (process.env.TWINLEDGER_NO_NATIVE_SECP256K1 === "1") return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native binding, loaded at run time
    return require("secp256k1/bindings") as NativeSecp256k1;
  } catch {
    return null;
  }
}

/**
 * @internal The native binding, or null where it does not load (or where `TWINLEDGER_NO_NATIVE_SECP256K1=1`, which
 * the tests use to run the JavaScript paths).
 */
export const nativeSecp256k1: NativeSecp256k1 | null = load();

/**
 * @internal The binding, for the `…Native` backends of ecdh.ts and reader-keys.ts (selected, and tested, only where it
 * loaded); throws where it did not.
 */
export function requireNativeSecp256k1(): NativeSecp256k1 {
  if (!nativeSecp256k1) throw new Error("libsecp256k1 is not loaded: the native secp256k1 backend is unavailable");
  return nativeSecp256k1;
}

/** Which secp256k1 implementation this process uses, for reports. */
export function secp256k1Backend(): "libsecp256k1 (native)" | "noble / OpenSSL (JavaScript)" {
  return nativeSecp256k1 ? "libsecp256k1 (native)" : "noble / OpenSSL (JavaScript)";
}
