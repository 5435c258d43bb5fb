import { AbiCoder, dataLength, getAddress, hexlify, isHexString, type BytesLike } from "ethers";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { bytes32FromHex } from "../../crypto/bytes";
import { TwinLedgerError } from "../../errors";

/*
 * What the anchors modules share: their error, the contract's limits, and the checks of their inputs (hashes,
 * addresses, content ids, integers), whose messages name the argument and its shape, never its content.
 */

/**
 * The error codes of this module.
 *
 * | code                     | raised when                                                                 |
 * | ------------------------ | --------------------------------------------------------------------------- |
 * | `ANCHOR_INVALID_INPUT`   | a hash, head, address, cid, sequence, category or timestamp is malformed    |
 * | `ANCHOR_EMPTY_BATCH`     | a reading or record tree is asked for no leaves                              |
 * | `ANCHOR_DUPLICATE_READING` | the same (readingHash, timestamp) appears twice in one batch              |
 * | `ANCHOR_READING_NOT_FOUND` | a proof is asked for a reading that is not in the tree                    |
 * | `ANCHOR_BATCH_RANGE`     | a batch's readings lie beyond what a uint40 time can hold                    |
 * | `ANCHOR_DUPLICATE_RECORD` | the same (category, contentHash, cid) appears twice in one record batch    |
 * | `ANCHOR_RECORD_NOT_FOUND` | a proof is asked for a record that is not in the tree                      |
 */
export type AnchorErrorCode =
  | "ANCHOR_INVALID_INPUT"
  | "ANCHOR_EMPTY_BATCH"
  | "ANCHOR_DUPLICATE_READING"
  | "ANCHOR_READING_NOT_FOUND"
  | "ANCHOR_BATCH_RANGE"
  | "ANCHOR_DUPLICATE_RECORD"
  | "ANCHOR_RECORD_NOT_FOUND";

/** An error of this module; messages name the offending argument and its shape, never its content. */
export class AnchorError extends TwinLedgerError {
  declare readonly code: AnchorErrorCode;

  constructor(code: AnchorErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** TwinUpdateLog.MAX_CID_LENGTH: the longest content id `recordUpdate` takes, in bytes. */
export const MAX_CID_LENGTH = 96;

export const UINT32_MAX = (1n << 32n) - 1n;
export const UINT40_MAX = (1n << 40n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;
/** One ABI coder for the chain steps and the leaves. */
export const coder = AbiCoder.defaultAbiCoder();

export function fixedBytes(value: BytesLike, length: number, name: string): BytesLike {
  if (!(value instanceof Uint8Array) && !isHexString(value, true)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is not 0x-prefixed, even-length hex or bytes`);
  }
  if (dataLength(value) !== length) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is ${dataLength(value)} bytes, expected ${length}`);
  }
  return value;
}

const BYTES32_HEX = /^0x[0-9a-fA-F]{64}$/;

/** A 32-byte value as lower-case 0x hex (`hexlify` of it), without ethers' parse for hex that is already that. */
export function bytes32Hex(value: BytesLike, name: string): string {
  return typeof value === "string" && BYTES32_HEX.test(value)
    ? value.toLowerCase()
    : hexlify(fixedBytes(value, 32, name));
}

/**
 * A 32-byte value as lower-case 0x hex and as bytes (32 bytes given are returned as they are, not copied), with one
 * pass over hex of the common shape (0x and 64 digits: a hash as the pipeline writes it), ethers' checks otherwise.
 */
export function bytes32HexAndBytes(value: BytesLike, name: string): { hex: string; bytes: Uint8Array } {
  if (value instanceof Uint8Array && value.length === 32) return { hex: "0x" + bytesToHex(value), bytes: value };
  const decoded = bytes32FromHex(value);
  if (decoded !== null) return { hex: (value as string).toLowerCase(), bytes: decoded };
  const hex = hexlify(fixedBytes(value, 32, name)); // ethers' checks name what is wrong
  return { hex, bytes: hexToBytes(hex.slice(2)) };
}

/** `fixedBytes`, as bytes (a hex string decoded; bytes given as they are). */
export function fixedBytesOf(value: BytesLike, length: number, name: string): Uint8Array {
  const decoded = length === 32 ? bytes32FromHex(value) : null; // the common case (a hash as hex), without ethers
  if (decoded !== null) return decoded;
  const checked = fixedBytes(value, length, name);
  return checked instanceof Uint8Array ? checked : hexToBytes(checked.slice(2));
}

/** Whether two byte strings are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function cidBytes(cid: BytesLike): BytesLike {
  if (!(cid instanceof Uint8Array) && !isHexString(cid, true)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", "cid is not 0x-prefixed hex or bytes (pass the CID's bytes)");
  }
  const length = dataLength(cid);
  if (length === 0 || length > MAX_CID_LENGTH) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `cid is ${length} bytes, expected 1 to ${MAX_CID_LENGTH}`);
  }
  return cid;
}

export function unsigned(value: bigint | number, max: bigint, name: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is not a safe integer`);
  }
  const big = BigInt(value);
  if (big < 0n || big > max) throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is out of range`);
  return big;
}

export function address(value: string, name: string): string {
  try {
    return getAddress(value);
  } catch (cause) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is not an address`, { cause });
  }
}
