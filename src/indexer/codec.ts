import { getAddress } from "ethers";
import { IndexerError } from "./errors";

/** Decimal digits of the largest uint64 and uint256; stored zero-padded so that TEXT order is numeric order. */
export const UINT64_DIGITS = 20;
export const UINT256_DIGITS = 78;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT256_MAX = (1n << 256n) - 1n;

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** A uint64 as sortable TEXT. */
export function encodeUint64(value: bigint): string {
  if (value < 0n || value > UINT64_MAX) throw invalid("a uint64 is out of range");
  return value.toString().padStart(UINT64_DIGITS, "0");
}

/** A uint256 as sortable TEXT. */
export function encodeUint256(value: bigint): string {
  if (value < 0n || value > UINT256_MAX) throw invalid("a uint256 is out of range");
  return value.toString().padStart(UINT256_DIGITS, "0");
}

/** The stored TEXT of a uint back to a bigint. */
export function decodeUint(text: string): bigint {
  return BigInt(text);
}

/** A decoded small uint (uint8..uint40) as a number; they are all below 2^53. */
export function smallUint(value: bigint): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid("a small uint is out of range");
  return Number(value);
}

/** A twin id (bytes32) argument, lowercased; refused unless 0x and 64 hex digits. */
export function twinIdArg(twinId: string): string {
  if (typeof twinId !== "string" || !BYTES32.test(twinId)) {
    throw invalid(`twinId must be a 0x-prefixed 32-byte hex string (got ${describe(twinId)})`);
  }
  return twinId.toLowerCase();
}

/** A bytes32 argument (a root), lowercased; refused unless 0x and 64 hex digits. */
export function bytes32Arg(name: string, value: string): string {
  if (typeof value !== "string" || !BYTES32.test(value)) {
    throw invalid(`${name} must be a 0x-prefixed 32-byte hex string (got ${describe(value)})`);
  }
  return value.toLowerCase();
}

/** An address argument, checksummed; refused unless it is an address. */
export function addressArg(name: string, address: string): string {
  try {
    return getAddress(address);
  } catch (error) {
    throw invalid(`${name} must be an address (got ${describe(address)})`, error);
  }
}

/** An optional unix-seconds argument; default `fallback`. */
export function atArg(at: number | undefined, fallback: () => number): number {
  if (at === undefined) return fallback();
  if (!Number.isSafeInteger(at) || at < 0) throw invalid("at must be a non-negative integer number of seconds");
  return at;
}

/** A bounded positive integer argument. */
export function intArg(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

/** A uint64 argument given as bigint or number. */
export function uint64Arg(name: string, value: bigint | number): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) throw invalid(`${name} must be an integer`);
  const big = BigInt(value);
  if (big < 0n || big > UINT64_MAX) throw invalid(`${name} must be a uint64`);
  return big;
}

/** A uint256 argument given as bigint or number. */
export function uint256Arg(name: string, value: bigint | number): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) throw invalid(`${name} must be an integer`);
  const big = BigInt(value);
  if (big < 0n || big > UINT256_MAX) throw invalid(`${name} must be a uint256`);
  return big;
}

/** What kind of value was given, without echoing it. */
function describe(value: unknown): string {
  if (typeof value === "string") return `a string of ${value.length} characters`;
  return typeof value;
}

function invalid(message: string, cause?: unknown): IndexerError {
  return new IndexerError("INDEXER_INVALID_ARGUMENT", message, cause === undefined ? undefined : { cause });
}
