import type { Resource } from "@medplum/fhirtypes";
import { ingestResource } from "../fhir";
import type { TwinRecord, VitalReading } from "../fhir/records";
import { canonicalJson } from "../twin";
import { PipelineError } from "./errors";

/**
 * The plaintexts the pipeline seals, and how it reads them back. Every decoded value is what the
 * engine is fed, on the first run and on a replay alike, so a restarted service rebuilds the very
 * same twin versions.
 *
 * - an EMR record: the canonical JSON (see `canonicalJson`) of its FHIR resource, UTF-8; the
 *   record's derived fields (kind, category, code, readings) are derived again by ingest on read;
 * - a batch of wearable readings: `{"format":"twinledger-reading-batch/1","readings":[{"reading","salt"}]}`;
 * - an intake (readings received, not yet batched): `{"format":"twinledger-reading-intake/1","readings":[...]}`.
 */
export const READING_BATCH_FORMAT = "twinledger-reading-batch/1";
export const READING_INTAKE_FORMAT = "twinledger-reading-intake/1";

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

/** A record as it comes back from its blob: the record and the readings it carries. */
export interface DecodedRecord {
  readonly record: TwinRecord;
  readonly readings: readonly VitalReading[];
}

/** The plaintext of an EMR record: the canonical JSON of its resource. */
export function encodeRecord(record: TwinRecord): Uint8Array {
  return utf8.encode(canonicalJson(record.resource));
}

/** Rebuild a record (and its readings) from its plaintext; `key` is the key it was stored under. */
export function decodeRecord(plaintext: Uint8Array, key: string): DecodedRecord {
  let resource: Resource;
  try {
    resource = JSON.parse(text.decode(plaintext)) as Resource;
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `record ${key} does not decode as JSON`, { cause });
  }
  const id = key.slice(key.indexOf("/") + 1);
  // A resource identified by its bundle fullUrl has no id of its own: ingest it with the key's id.
  const input = resource.id === undefined ? { ...resource, id } : resource;
  const result = ingestResource(input);
  const record = result.records[0];
  if (result.records.length !== 1 || record.key !== key) {
    throw new PipelineError("INDEX_CORRUPT", `record ${key} does not decode to the record stored under that key`);
  }
  return { record: resource.id === undefined ? { ...record, resource } : record, readings: result.readings };
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
