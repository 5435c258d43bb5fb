import { randomBytes } from "node:crypto";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { AbiCoder, getBytes, hexlify, keccak256, ParamType } from "ethers";
import { bytes32FromHex, setSafeUint64 } from "../crypto/bytes";
import { keccak256 as nativeKeccak256 } from "../crypto/keccak";
import type { VitalReading } from "../fhir/records";
import { canonicalNumber } from "../twin";
import { PipelineError } from "./errors";

/**
 * The salted commitment to one reading that a batch's Merkle tree holds as `readingHash`:
 *
 * ```
 * readingHash = keccak256(abi.encode(
 *   bytes32 salt,         // 32 random bytes, one per reading, kept encrypted with the reading
 *   bytes32 twinId,       // the twin (lower-case hex)
 *   string  sign,         // the VitalSignName, e.g. "heartRate"
 *   int256  scaledValue,  // the value × 10^6, exact: the value's canonical decimal (canonicalNumber, 6 places)
 *   string  unit,         // the UCUM unit as the reading carries it, e.g. "/min"
 *   uint64  timestampMs   // the reading's time, milliseconds since the epoch
 * ))
 * ```
 *
 * The salt is what keeps it from being a hash of health data: without it, the few thousand
 * plausible (sign, value, unit, time) tuples could be tried one by one. The salt travels with the
 * reading (inside the encrypted batch blob, and to an authorized reader with the proof), never alone.
 * The tree's second leaf value is the time in whole seconds, `floor(timestampMs / 1000)`.
 *
 * The device a reading came from (`reading.source`, the device signer's address: see wearable-ingest.ts) is not in
 * the leaf: the batch is anchored by that device's account (`anchorBatch`, keyed (twin, source, root) on chain), so
 * the anchor's `source` is what binds the reading to its device, and a flag on the device in DeviceRegistry applies
 * to every reading of the batches it anchored. Leaving it out keeps every commitment made before readings carried
 * their device valid as it is.
 */
export const READING_COMMITMENT_ENCODING = ["bytes32", "bytes32", "string", "int256", "string", "uint64"] as const;
/** The same types parsed once (ethers parses type strings on every `encode` otherwise). */
const READING_COMMITMENT_PARAMS = READING_COMMITMENT_ENCODING.map((type) => ParamType.from(type));

/** The decimal scale of `scaledValue`: 6 places, the precision of canonical JSON. */
export const READING_VALUE_SCALE = 6;

const coder = AbiCoder.defaultAbiCoder();

/** 32 fresh random bytes as 0x-hex: the salt of one reading. */
export function newReadingSalt(): string {
  return hexlify(randomBytes(32));
}

/** The reading's value as an exact integer of millionths (its canonical decimal, see `canonicalNumber`). */
export function scaledReadingValue(value: number): bigint {
  let text: string;
  try {
    text = canonicalNumber(value);
  } catch (cause) {
    throw new PipelineError("INVALID_OPTIONS", "a reading value is not a finite number", { cause });
  }
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const scaled = BigInt(whole) * 10n ** BigInt(READING_VALUE_SCALE) + BigInt(fraction.padEnd(READING_VALUE_SCALE, "0"));
  return negative ? -scaled : scaled;
}

/** The time of a reading as anchored in the tree: whole seconds. */
export function readingTimestampSeconds(reading: Pick<VitalReading, "at">): number {
  return Math.floor(reading.at / 1000);
}

/**
 * The salted commitment `readingHash` to a reading of a twin (see {@link READING_COMMITMENT_ENCODING}).
 * @param salt 32 bytes, 0x-hex.
 * @param twinId The twin, bytes32 hex.
 * @param reading The reading as ingested (sign, value, unit, at).
 */
export function readingCommitment(
  salt: string,
  twinId: string,
  reading: Pick<VitalReading, "sign" | "value" | "unit" | "at">,
): string {
  return "0x" + bytesToHex(readingCommitmentBytes(salt, twinId, reading));
}

/** {@link readingCommitment} as its 32 bytes (what a batch's tree hashes into its leaf). */
export function readingCommitmentBytes(
  salt: string,
  twinId: string,
  reading: Pick<VitalReading, "sign" | "value" | "unit" | "at">,
): Uint8Array {
  const saltBytes = bytes32FromHex(salt);
  if (saltBytes === null) throw new PipelineError("INVALID_OPTIONS", "a reading salt must be 32 bytes of hex");
  const twin = twinBytes(twinId);
  if (twin === null) throw new PipelineError("INVALID_OPTIONS", "twinId must be a bytes32 hex string");
  if (!Number.isSafeInteger(reading.at) || reading.at < 0) {
    throw new PipelineError("INVALID_OPTIONS", "a reading time must be a non-negative integer of milliseconds");
  }
  const fast = commitmentEncoding(saltBytes, twin, reading.sign, reading.value, reading.unit, reading.at);
  if (fast !== null) return nativeKeccak256(fast);
  // a value beyond int256 or not finite, or a string that is not well-formed UTF-16: ethers' coder, which refuses
  // them as before
  const scaled = scaledReadingValue(reading.value);
  return getBytes(
    keccak256(
      coder.encode(READING_COMMITMENT_PARAMS, [
        salt.toLowerCase(),
        twinId.toLowerCase(),
        reading.sign,
        scaled,
        reading.unit,
        BigInt(reading.at),
      ]),
    ),
  );
}

const INT256_MIN = -(1n << 255n);
const INT256_MAX = (1n << 255n) - 1n;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextEncoder();

/**
 * What repeats from one reading to the next, encoded once: the value's int256 word (a twin's readings take few
 * distinct values), the sign's and the unit's UTF-8 tails (a handful of names), the twin id's bytes. Bounded: a map
 * that reaches its size is cleared (a cache, never a source of truth: each entry is what the encoding computes).
 */
const ENCODING_CACHE_ENTRIES = 4096;
const valueWords = new Map<number, Uint8Array | null>();
const stringTails = new Map<string, Uint8Array | null>();
let lastTwin: { readonly hex: string; readonly bytes: Uint8Array } | undefined;

function cached<K, V>(map: Map<K, V>, key: K, compute: (key: K) => V): V {
  const known = map.get(key);
  if (known !== undefined || map.has(key)) return known as V;
  if (map.size >= ENCODING_CACHE_ENTRIES) map.clear();
  const value = compute(key);
  map.set(key, value);
  return value;
}

/** The int256 word of a value's scaled integer (two's complement), or null beyond int256. */
function valueWord(value: number): Uint8Array | null {
  const scaled = scaledReadingValue(value);
  if (scaled < INT256_MIN || scaled > INT256_MAX) return null;
  return hexToBytes(BigInt.asUintN(256, scaled).toString(16).padStart(64, "0"));
}

/** An ABI string tail: the length word, then the UTF-8 bytes padded to a whole word; null with a lone surrogate. */
function stringTail(text: string): Uint8Array | null {
  if (LONE_SURROGATE.test(text)) return null;
  const bytes = utf8.encode(text);
  const tail = new Uint8Array(32 + Math.ceil(bytes.length / 32) * 32);
  new DataView(tail.buffer).setUint32(28, bytes.length);
  tail.set(bytes, 32);
  return tail;
}

/** The twin id's bytes, or null when it is not bytes32 hex; the last twin's kept (a batch is one twin's). */
function twinBytes(twinId: string): Uint8Array | null {
  if (lastTwin?.hex === twinId) return lastTwin.bytes;
  const bytes = bytes32FromHex(twinId);
  if (bytes !== null) lastTwin = { hex: twinId, bytes };
  return bytes;
}

/**
 * `abi.encode(bytes32 salt, bytes32 twinId, string sign, int256 scaledValue, string unit, uint64 timestampMs)` written
 * by hand: the bytes ethers' coder gives (test/src/pipeline/reading-commitment.test.ts holds them equal on random
 * readings), without its per-value coder objects, which made the commitments most of a cold twin's first read.
 * Null for what the hand-written form does not cover (the caller then asks ethers): a value beyond int256 (or not
 * finite: ethers' path throws the typed error), a string with a lone surrogate (ethers refuses it; TextEncoder would
 * replace it).
 * @dev Six head words (the strings as offsets into the tail), then each string as its length word and its bytes
 * padded to a whole word. Salt and twin id are checked 32 bytes; `at` a checked safe integer. The bytes returned are
 * valid until the next call (see `scratch`).
 */
function commitmentEncoding(salt: Uint8Array, twin: Uint8Array, sign: string, value: number, unit: string, at: number) {
  if (!Number.isFinite(value)) return null;
  const word = cached(valueWords, value, valueWord);
  const signTail = cached(stringTails, sign, stringTail);
  const unitTail = cached(stringTails, unit, stringTail);
  if (word === null || signTail === null || unitTail === null) return null;
  const length = 6 * 32 + signTail.length + unitTail.length;
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, 2 * scratch.length));
  const out = scratch;
  const view = new DataView(out.buffer);
  out.set(salt, 0);
  out.set(twin, 32);
  view.setUint32(2 * 32 + 28, 6 * 32); // offset of sign
  out.set(word, 3 * 32);
  view.setUint32(4 * 32 + 28, 6 * 32 + signTail.length); // offset of unit
  setSafeUint64(view, 5 * 32 + 24, at);
  out.set(signTail, 6 * 32);
  out.set(unitTail, 6 * 32 + signTail.length);
  return out.subarray(0, length);
}

/**
 * The buffer `commitmentEncoding` writes into, reused (one allocation per reading fewer: a cold batch's first read
 * spent a tenth of its time collecting garbage). Safe to reuse because the encoding is hashed before the next one is
 * written, and because every byte of the encoding is written each time except the head words' leading zeros, which
 * nothing ever writes (the offsets and the time are set in the same low bytes of the same words every time).
 */
let scratch = new Uint8Array(512);
