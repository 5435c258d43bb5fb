import type { RecordKind, TwinRecord } from "../fhir/records";
import { canonicalHash } from "./canonical";
import { TwinEngineError } from "./errors";
import type { Bytes32 } from "./types";

export const RECORD_KINDS: readonly RecordKind[] = [
  "demographics",
  "condition",
  "medication",
  "allergy",
  "procedure",
  "immunization",
  "encounter",
  "lab",
  "vital",
  "diagnostic-report",
  "medication-product",
  "family-history",
  "document",
  "claim",
  "coverage",
];

const digests = new WeakMap<TwinRecord, Bytes32>();

/** keccak256 of the record's canonical JSON (all its fields, the FHIR resource included). */
export function recordDigest(record: TwinRecord): Bytes32 {
  let digest = digests.get(record);
  if (digest === undefined) {
    digest = canonicalHash(record);
    digests.set(record, digest);
  }
  return digest;
}

function validateRecord(record: TwinRecord, index: number): void {
  if (record === null || typeof record !== "object") {
    throw new TwinEngineError("TWIN_INVALID_RECORD", `record ${index} is not an object`);
  }
  if (typeof record.key !== "string" || record.key === "") {
    throw new TwinEngineError("TWIN_INVALID_RECORD", `record ${index} has no key`);
  }
  if (!RECORD_KINDS.includes(record.kind)) {
    throw new TwinEngineError("TWIN_INVALID_RECORD", `record ${index} has an unknown kind`);
  }
  if (record.resource === null || typeof record.resource !== "object") {
    throw new TwinEngineError("TWIN_INVALID_RECORD", `record ${index} has no resource`);
  }
}

function lastUpdatedOf(record: TwinRecord): number {
  const text = record.resource.meta?.lastUpdated;
  const time = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(time) ? -Infinity : time;
}

function versionIdOf(record: TwinRecord): string {
  return record.resource.meta?.versionId ?? "";
}

/**
 * Which of two records with the same key the twin keeps, independent of arrival order: the
 * later `meta.lastUpdated`; then the greater `meta.versionId` (numerically when both are
 * integers); then the greater canonical digest, an arbitrary but fixed tie-break.
 */
export function newerRecord(a: TwinRecord, b: TwinRecord): TwinRecord {
  const ta = lastUpdatedOf(a);
  const tb = lastUpdatedOf(b);
  if (ta !== tb) return ta > tb ? a : b;
  const va = versionIdOf(a);
  const vb = versionIdOf(b);
  if (va !== vb) {
    if (/^\d+$/.test(va) && /^\d+$/.test(vb)) return BigInt(va) > BigInt(vb) ? a : b;
    return va > vb ? a : b;
  }
  return recordDigest(a) >= recordDigest(b) ? a : b;
}

/** Add validated records to a key → record map (a new map; `base` is untouched). */
export function mergeRecords(
  base: ReadonlyMap<string, TwinRecord>,
  records: readonly TwinRecord[],
): Map<string, TwinRecord> {
  records.forEach(validateRecord);
  const merged = new Map(base);
  for (const record of records) {
    const existing = merged.get(record.key);
    merged.set(record.key, existing === undefined ? record : newerRecord(existing, record));
  }
  return merged;
}

/** The effective records sorted by key. */
export function sortedRecords(records: ReadonlyMap<string, TwinRecord>): TwinRecord[] {
  return [...records.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
