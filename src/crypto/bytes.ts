import { hexToBytes as nobleHexToBytes } from "@noble/hashes/utils.js";

/** Byte helpers internal to the crypto and store modules. */

/** A plain `Uint8Array` view over the same memory (Node `Buffer`s compare and print differently). */
export function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Concatenate byte arrays into a fresh array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Decode `0x`-prefixed or bare hex into a fresh array; `undefined` if it is not hex of whole bytes. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  const body = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) return undefined;
  const out = new Uint8Array(body.length / 2);
  Buffer.from(out.buffer).write(body, "hex"); // decode in place: no copy left in Buffer's shared pool
  return out;
}

/** Node's Buffer; undefined in a browser. */
const NODE_BUFFER = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/**
 * The bytes of `0x` and 64 hex digits (either case), or null for anything else: a hash, salt or twin id as hex. In
 * Node one native pass (its hex decoding stops at the first pair that is not hex, so all 64 digits are hex exactly
 * when 32 bytes come out); in a browser (the web app verifies answers with the modules that call this, and has no
 * `Buffer`) noble's decoding. `nodeBuffer` is for the test that holds both equal (null: the browser's way).
 */
export function bytes32FromHex(
  hex: unknown,
  nodeBuffer: typeof Buffer | null = NODE_BUFFER ?? null,
): Uint8Array | null {
  if (typeof hex !== "string" || hex.length !== 66 || !hex.startsWith("0x")) return null;
  if (nodeBuffer !== null) {
    const bytes = nodeBuffer.from(hex.slice(2), "hex");
    return bytes.length === 32 ? new Uint8Array(bytes.buffer, bytes.byteOffset, 32) : null;
  }
  try {
    return nobleHexToBytes(hex.slice(2));
  } catch {
    return null;
  }
}

/**
 * Writes the bytes of the `0x`-hex string `hex` at `offset`; false (some bytes written) when it is not `0x` followed
 * by hex digits, two per byte. Decoded from the character codes, in Node and in a browser alike: `parseInt` over
 * two-character slices and a pattern test cost 2.5 µs per bytes32 (the EIP-712 digest and the access-log leaf each
 * write three fields a query).
 */
export function writeHex(hex: string, out: Uint8Array, offset: number): boolean {
  if (hex.length % 2 !== 0 || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120) return false; // "0x"
  for (let i = 2, j = offset; i < hex.length; i += 2, j++) {
    const high = nibble(hex.charCodeAt(i));
    const low = nibble(hex.charCodeAt(i + 1));
    if (high < 0 || low < 0) return false;
    out[j] = (high << 4) | low;
  }
  return true;
}

/** The value of a hex digit's character code, -1 for another character. */
function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  const lower = code | 32; // A-F → a-f
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** `0x`-prefixed lowercase hex. */
export function bytesToHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/**
 * Writes a non-negative safe integer as a big-endian uint64 at `offset` (its high and low 32 bits: no BigInt, for
 * per-leaf and per-reading encodings). The caller checks that `value` is a safe integer ≥ 0.
 */
export function setSafeUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 0x1_0000_0000));
  view.setUint32(offset + 4, value >>> 0);
}

/** Overwrite secret bytes once they are no longer needed (best effort: copies made by the runtime survive). */
export function wipe(...secrets: (Uint8Array | undefined)[]): void {
  for (const secret of secrets) secret?.fill(0);
}
