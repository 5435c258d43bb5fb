import type { Resource } from "@medplum/fhirtypes";
import { pad, padTo, unpad, type PaddingScheme } from "../crypto";
import { rebuildRecord } from "../fhir";
import type { TwinRecord, VitalReading } from "../fhir/records";
import { canonicalJson } from "../twin";
import { PipelineError } from "./errors";

/**
 * The plaintexts the pipeline seals, and how it reads them back. Every decoded value is what the
 * engine is fed, on the first run and on a replay alike, so a restarted service rebuilds the very
 * same twin versions.
 *
 * - an EMR record: `{"format":"twinledger-record/2","record":{...},"readings":[...]}` in canonical JSON (see
 *   `canonicalJson`), UTF-8: the record as ingest built it in its bundle (names resolved through the bundle's
 *   Medication entries, conditional references allowed), so a restart feeds the engine the very same record.
 *   Records sealed before this format hold the canonical JSON of the bare resource; they are rebuilt on read with
 *   the bundle context they had (`rebuildRecord`: conditional references stay legal, the subject is not matched
 *   again);
 * - a batch of wearable readings: `{"format":"twinledger-reading-batch/1","readings":[{"reading","salt"}]}`;
 * - an intake (readings received, not yet batched): `{"format":"twinledger-reading-intake/1","readings":[...]}`.
 *
 * Every plaintext is padded before it is sealed (src/crypto/padding.ts: `‖ 0x80 ‖ 0x00…`), so that a blob's size does
 * not tell which record it holds: records and intakes to their Padmé bucket above {@link RECORD_PADDING}'s floor,
 * a reading batch to the fixed size its batch policy gives (see `batchPlaintextBytes`). Decoding strips the padding;
 * blobs sealed before padding still decode.
 */
export const RECORD_FORMAT = "twinledger-record/2";
export const READING_BATCH_FORMAT = "twinledger-reading-batch/1";
export const READING_INTAKE_FORMAT = "twinledger-reading-intake/1";

/** Records and intakes: Padmé buckets, at least 512 bytes (≤ 12 % overhead above that). */
export const RECORD_PADDING: PaddingScheme = Object.freeze({ floor: 512, bucket: "padme" });

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

/** A record as it comes back from its blob: the record and the readings it carries. */
export interface DecodedRecord {
  readonly record: TwinRecord;
  readonly readings: readonly VitalReading[];
}

/** The plaintext of an EMR record: the record as ingest built it, and the readings it carries. */
export function encodeRecord(record: TwinRecord, readings: readonly VitalReading[]): Uint8Array {
  return pad(utf8.encode(canonicalJson({ format: RECORD_FORMAT, record, readings })), RECORD_PADDING);
}

/** Rebuild a record (and its readings) from its plaintext; `key` is the key it was stored under. */
export function decodeRecord(plaintext: Uint8Array, key: string): DecodedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text.decode(unpad(plaintext)));
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `record ${key} does not decode as JSON`, { cause });
  }
  if (isRecordEnvelope(value)) {
    if (value.record.key !== key || !value.readings.every((r) => r.recordKey === key)) {
      throw new PipelineError("INDEX_CORRUPT", `record ${key} does not decode to the record stored under that key`);
    }
    return { record: value.record, readings: value.readings };
  }
  return decodeLegacyRecord(value as Resource, key);
}

function isRecordEnvelope(value: unknown): value is { record: TwinRecord; readings: VitalReading[] } {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { format?: unknown; record?: unknown; readings?: unknown };
  return (
    v.format === RECORD_FORMAT &&
    typeof v.record === "object" &&
    v.record !== null &&
    typeof (v.record as { key?: unknown }).key === "string" &&
    Array.isArray(v.readings)
  );
}

/** A record sealed before `RECORD_FORMAT`: the bare resource, rebuilt with the context it had in its bundle. */
function decodeLegacyRecord(resource: Resource, key: string): DecodedRecord {
  let rebuilt: ReturnType<typeof rebuildRecord>;
  try {
    rebuilt = rebuildRecord(resource, key);
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `record ${key} does not decode to the record stored under that key`, {
      cause,
    });
  }
  // A resource identified by its bundle fullUrl has no id of its own: it keeps the resource as sealed.
  const record = resource.id === undefined ? { ...rebuilt.record, resource } : rebuilt.record;
  return { record, readings: rebuilt.readings };
}

/** A reading of a batch and its salt. */
export interface SaltedReading {
  readonly reading: VitalReading;
  readonly salt: string;
}

/**
 * The plaintext of a batch, padded to `size` bytes when given (the policy's fixed batch size, so that every batch of
 * a cadence seals to the same size whatever its count), or else to a power of two above 512 bytes. A batch larger
 * than `size` goes to the next power of two above it.
 */
export function encodeBatch(readings: readonly SaltedReading[], size?: number): Uint8Array {
  const json = utf8.encode(JSON.stringify({ format: READING_BATCH_FORMAT, readings }));
  const scheme: PaddingScheme = { floor: size ?? 512, bucket: "power-of-two" };
  return size !== undefined && json.length < size ? padTo(json, size) : pad(json, scheme);
}

export function decodeBatch(plaintext: Uint8Array, key: string): SaltedReading[] {
  const parsed = parseJson(plaintext, key) as { format?: unknown; readings?: unknown };
  if (parsed.format !== READING_BATCH_FORMAT || !Array.isArray(parsed.readings)) {
    throw new PipelineError("INDEX_CORRUPT", `${key} is not a reading batch`);
  }
  return parsed.readings as SaltedReading[];
}

export function encodeIntake(readings: readonly VitalReading[]): Uint8Array {
  return pad(utf8.encode(JSON.stringify({ format: READING_INTAKE_FORMAT, readings })), RECORD_PADDING);
}

export function decodeIntake(plaintext: Uint8Array, key: string): VitalReading[] {
  const parsed = parseJson(plaintext, key) as { format?: unknown; readings?: unknown };
  if (parsed.format !== READING_INTAKE_FORMAT || !Array.isArray(parsed.readings)) {
    throw new PipelineError("INDEX_CORRUPT", `${key} is not a reading intake`);
  }
  return parsed.readings as VitalReading[];
}

function parseJson(plaintext: Uint8Array, key: string): unknown {
  try {
    return JSON.parse(text.decode(unpad(plaintext))) as unknown;
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `${key} does not decode as JSON`, { cause });
  }
}
