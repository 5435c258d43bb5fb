import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import { TwinLedgerError } from "../errors";
import { ALL_CATEGORIES } from "../vocabulary";
import { isUrnUuid } from "./check";
import { ingestBundleWith } from "./ingest";
import type { TwinRecord } from "./records";

export interface ExportOptions {
  /** `collection` (default) or `searchset` (entries marked `search.mode = match`, with a total). */
  readonly type?: "collection" | "searchset";
  /** Bundle.id, if wanted. */
  readonly id?: string;
  /** Bundle.timestamp (an instant); left out unless given, so exports stay deterministic. */
  readonly timestamp?: string;
  /**
   * Base URL of a FHIR server; entries then get `<base>/<Type>/<id>` fullUrls. Without it,
   * resources whose id is a UUID get `urn:uuid:<id>` (which keeps Synthea-style `urn:uuid:`
   * references resolvable) and the others no fullUrl.
   */
  readonly fullUrlBase?: string;
  /**
   * Whether the Bundle is checked with the very checks ingest applies (default true): an export
   * that its own ingest would refuse throws a FhirValidationError instead of leaving the gateway.
   * The subjects are not matched to a patient (an export may leave the Patient out).
   */
  readonly validate?: boolean;
}

/**
 * FHIR out: a Bundle of the resources of the records whose category is in `categoryMask`, in
 * the order given, each resource exactly as it was ingested.
 */
export function exportBundle(
  records: readonly TwinRecord[],
  categoryMask: number,
  options: ExportOptions = {},
): Bundle {
  if (!Number.isInteger(categoryMask) || categoryMask <= 0 || (categoryMask & ~ALL_CATEGORIES) !== 0) {
    throw new TwinLedgerError("INVALID_CATEGORY_MASK", "category mask must be a non-empty set of DataCategory bits");
  }
  const type = options.type ?? "collection";
  const entry: BundleEntry[] = records
    .filter((record) => (record.category & categoryMask) !== 0)
    .map((record) => {
      const fullUrl = fullUrlOf(record, options.fullUrlBase);
      return {
        ...(fullUrl !== undefined ? { fullUrl } : {}),
        resource: structuredClone(record.resource),
        ...(type === "searchset" ? { search: { mode: "match" as const } } : {}),
      };
    });
  const bundle: Bundle = {
    resourceType: "Bundle",
    ...(options.id !== undefined ? { id: options.id } : {}),
    type,
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    ...(type === "searchset" ? { total: entry.length } : {}),
    ...(entry.length > 0 ? { entry } : {}),
  };
  if (options.validate ?? true) ingestBundleWith(bundle, {}, { skipPatientCheck: true });
  return bundle;
}

/** The id is the record key's (a resource ingested without one took it from its urn:uuid fullUrl). */
function fullUrlOf(record: TwinRecord, base: string | undefined): string | undefined {
  const id = record.key.slice(record.key.indexOf("/") + 1);
  if (base !== undefined) return `${base.replace(/\/+$/, "")}/${record.resource.resourceType}/${id}`;
  const urn = `urn:uuid:${id}`;
  return isUrnUuid(urn) ? urn : undefined;
}
