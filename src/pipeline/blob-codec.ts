import type { Resource } from "@medplum/fhirtypes";
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
 */
export const RECORD_FORMAT = "twinledger-record/2";
export const READING_BATCH_FORMAT = "twinledger-reading-batch/1";
export const READING_INTAKE_FORMAT = "twinledger-reading-intake/1";

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

/** A record as it comes back from its blob: the record and the readings it carries. */
export interface DecodedRecord {
  readonly record: TwinRecord;
  readonly readings: readonly VitalReading[];
}

/** The plaintext of an EMR record: the record as ingest built it, and the readings it carries. */
export function encodeRecord(record: TwinRecord, readings: readonly VitalReading[]): Uint8Array {
  return utf8.encode(canonicalJson({ format: RECORD_FORMAT, record, readings }));
}

/** Rebuild a record (and its readings) from its plaintext; `key` is the key it was stored under. */
export function decodeRecord(plaintext: Uint8Array, key: string): DecodedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text.decode(plaintext));
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

export function encodeBatch(readings: readonly SaltedReading[]): Uint8Array {
  return utf8.encode(JSON.stringify({ format: READING_BATCH_FORMAT, readings }));
}

export function decodeBatch(plaintext: Uint8Array, key: string): SaltedReading[] {
  const parsed = parseJson(plaintext, key) as { format?: unknown; readings?: unknown };
  if (parsed.format !== READING_BATCH_FORMAT || !Array.isArray(parsed.readings)) {
    throw new PipelineError("INDEX_CORRUPT", `${key} is not a reading batch`);
  }
  return parsed.readings as SaltedReading[];
}

export function encodeIntake(readings: readonly VitalReading[]): Uint8Array {
  return utf8.encode(JSON.stringify({ format: READING_INTAKE_FORMAT, readings }));
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
    return JSON.parse(text.decode(plaintext)) as unknown;
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `${key} does not decode as JSON`, { cause });
  }
}
