import { randomBytes } from "node:crypto";
import { AbiCoder, hexlify, keccak256, ParamType } from "ethers";
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
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

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
  if (!BYTES32.test(salt)) throw new PipelineError("INVALID_OPTIONS", "a reading salt must be 32 bytes of hex");
  if (!BYTES32.test(twinId)) throw new PipelineError("INVALID_OPTIONS", "twinId must be a bytes32 hex string");
  if (!Number.isSafeInteger(reading.at) || reading.at < 0) {
    throw new PipelineError("INVALID_OPTIONS", "a reading time must be a non-negative integer of milliseconds");
  }
  return keccak256(
    coder.encode(READING_COMMITMENT_PARAMS, [
      salt.toLowerCase(),
      twinId.toLowerCase(),
      reading.sign,
      scaledReadingValue(reading.value),
      reading.unit,
      BigInt(reading.at),
    ]),
  );
}
