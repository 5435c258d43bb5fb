import { CryptoError } from "./errors";

/**
 * Length hiding for plaintexts before they are sealed: a sealed envelope is as long as its plaintext plus a fixed
 * overhead, and the envelopes' CIDs are on chain, so without padding a blob's size tells which condition or medication
 * it holds. A padded plaintext is `plaintext ‖ 0x80 ‖ 0x00…` (ISO/IEC 7816-4 bit padding) up to a bucket size.
 *
 * - {@link padmeLength}: Padmé buckets (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 *   Communication with PURBs", PETS 2019): at most ~12 % overhead, and a length leaks O(log log n) bits;
 * - {@link powerOfTwoLength}: the next power of two, for a fixed size whatever the content (reading batches).
 *
 * {@link unpad} strips the padding. A plaintext whose last non-zero byte is not 0x80 is returned unchanged, so blobs
 * sealed before padding (JSON, ending in `}`) still open.
 */
export const PADDING_MARKER = 0x80;

/** The Padmé bucket of a length of `n` bytes (n ≥ 1): n rounded up so that only its top ~log2(log2 n) bits vary. */
export function padmeLength(n: number): number {
  checkLength(n);
  if (n < 2) return n;
  const e = Math.floor(Math.log2(n));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  return Math.ceil(n / (mask + 1)) * (mask + 1);
}

/** The smallest power of two ≥ n. */
export function powerOfTwoLength(n: number): number {
  checkLength(n);
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/** How a plaintext is padded: the bucket function and the smallest size. */
export interface PaddingScheme {
  /** Bytes of the smallest padded plaintext. */
  readonly floor: number;
  readonly bucket: "padme" | "power-of-two";
}

/** The padded size of a plaintext of `n` bytes under a scheme (room for the 0x80 marker included). */
export function paddedLength(n: number, scheme: PaddingScheme): number {
  const needed = Math.max(n + 1, scheme.floor);
  return scheme.bucket === "padme" ? padmeLength(needed) : powerOfTwoLength(needed);
}

/** Pad a plaintext to its bucket (or to `target` bytes exactly, if given and large enough). */
export function pad(plaintext: Uint8Array, scheme: PaddingScheme): Uint8Array {
  return padTo(plaintext, paddedLength(plaintext.length, scheme));
}

/** Pad a plaintext to exactly `size` bytes; throws `CRYPTO_FORMAT` if it does not fit with its marker. */
export function padTo(plaintext: Uint8Array, size: number): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new CryptoError("CRYPTO_FORMAT", "plaintext must be bytes");
  if (!Number.isSafeInteger(size) || size < plaintext.length + 1) {
    throw new CryptoError("CRYPTO_FORMAT", `a plaintext of ${plaintext.length} bytes does not pad to ${size} bytes`);
  }
  const out = new Uint8Array(size); // zero-filled
  out.set(plaintext, 0);
  out[plaintext.length] = PADDING_MARKER;
  return out;
}

/** Remove the padding of {@link pad}; a plaintext without it (an unpadded legacy blob) is returned as it is. */
export function unpad(padded: Uint8Array): Uint8Array {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (end < 0 || padded[end] !== PADDING_MARKER) return padded;
  return padded.subarray(0, end);
}

function checkLength(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CryptoError("CRYPTO_FORMAT", "a length must be a safe integer");
}
