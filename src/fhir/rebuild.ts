import type { Resource } from "@medplum/fhirtypes";
import { recordContentDigest } from "./digest";
import { FhirValidationError } from "./errors";
import { Accumulator, type IngestOptions } from "./ingest";
import type { TwinRecord, VitalReading } from "./records";

/**
 * Rebuilding a stored record from its resource, for the pipeline (blob-codec's decodeRecord),
 * with the context the resource had in its Bundle: conditional references (legal in the
 * transaction it came in) stay legal, and its subject is not matched again (it was when the
 * Bundle was ingested). `medications` are the Medication resources the twin holds, so that a
 * medicationReference resolves to the same name as on the first ingest.
 */
export interface RebuildOptions {
  readonly origin?: IngestOptions["origin"];
  readonly source?: string;
  /** Medication resources a medicationReference of the resource may name. */
  readonly medications?: readonly Resource[];
  /** The Bundle entry the record came from, put on errors. */
  readonly entryIndex?: number;
}

/** Rebuilds one record and its readings; `key` is the key it was stored under. */
export function rebuildRecord(
  resource: unknown,
  key: string,
  options: RebuildOptions = {},
): { readonly record: TwinRecord; readonly readings: readonly VitalReading[] } {
  const acc = new Accumulator({ origin: options.origin, source: options.source }, "lenient", {
    skipPatientCheck: true,
  });
  for (const medication of options.medications ?? []) {
    if (medication.id !== undefined) acc.add(medication, "Medication", {});
  }
  const type = key.slice(0, key.indexOf("/"));
  const id = key.slice(key.indexOf("/") + 1);
  const input =
    typeof resource === "object" && resource !== null && (resource as { id?: unknown }).id === undefined
      ? { ...(resource as object), id }
      : resource;
  const where = options.entryIndex !== undefined ? { entryIndex: options.entryIndex } : {};
  acc.add(input, type || "Resource", { conditionalReferences: true, where });
  const result = acc.result();
  const record = result.records.find((r) => r.key === key);
  if (record === undefined) {
    throw new FhirValidationError(
      type || "Resource",
      type || undefined,
      "does not rebuild to a record under its key",
      undefined,
      where,
    );
  }
  const readings = result.readings.filter((r) => r.recordKey === key);
  if (input === resource) return { record, readings };
  // A resource stored without an id (it had a urn:uuid fullUrl) is digested as it was ingested.
  const { digest: _digest, ...fields } = record;
  const original = { ...fields, resource: resource as Resource };
  return { record: { ...original, digest: recordContentDigest(original) }, readings };
}
