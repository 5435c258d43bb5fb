import type { Resource } from "@medplum/fhirtypes";
import { Checker, isAbsoluteUri, isFhirId, isUrnUuid, type Json } from "./check";
import { classify, mainCode, type Origin } from "./classify";
import { FhirValidationError } from "./errors";
import { readingsOf } from "./readings";
import type { IngestResult, IngestWarning, TwinRecord, VitalReading } from "./records";
import { R4_RESOURCE_TYPES } from "./resource-types";
import { checkCommon, checkModelled, isModelledType } from "./validate-resource";

/**
 * FHIR R4 in: a Bundle of any type, or a single resource, to TwinRecords and VitalReadings.
 * Input is validated in full before anything is returned: a refused input yields an error and
 * nothing else (all-or-nothing). Records keep a copy of their resource, so later changes to the
 * caller's objects do not reach them.
 */

export interface IngestOptions {
  /**
   * `emr` (default): a hospital export; `phr`: a personal device or app, whose Observations are
   * all WEARABLE_STREAMS.
   */
  readonly origin?: Origin;
  /** Source id put on readings whose Observation names no device (e.g. the PHR app's id). */
  readonly source?: string;
}

const BUNDLE_TYPES = [
  "document",
  "message",
  "transaction",
  "transaction-response",
  "batch",
  "batch-response",
  "history",
  "searchset",
  "collection",
] as const;
type BundleType = (typeof BUNDLE_TYPES)[number];

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] as const;

/** Ingests a Bundle (any type) or a single resource. */
export function ingest(input: unknown, options: IngestOptions = {}): IngestResult {
  const type = resourceTypeOf(input);
  return type === "Bundle" ? ingestBundle(input, options) : ingestResource(input, options);
}

/** Ingests a Bundle of any type; every entry is validated before anything is returned. */
export function ingestBundle(bundle: unknown, options: IngestOptions = {}): IngestResult {
  const acc = new Accumulator(options);
  const top = new Checker("Bundle", undefined);
  const o = top.object(bundle, "Bundle");
  if (o.resourceType !== "Bundle") top.fail("Bundle.resourceType", "expected a Bundle");
  const bundleId = isFhirId(o.id) ? o.id : undefined;
  const c = new Checker("Bundle", bundleId);
  if (o.id !== undefined) c.id(o.id, "Bundle.id");
  const type = c.code<BundleType>(o.type, "Bundle.type", BUNDLE_TYPES);
  if (o.total !== undefined) {
    c.integer(o.total, "Bundle.total", 0);
    if (type !== "searchset" && type !== "history")
      c.fail("Bundle.total", "only searchset and history bundles have a total (bdl-1)");
  }
  const entries = c.each(o.entry, "Bundle.entry", (e, path) => c.object(e, path));
  const fullUrls = new Map<string, number>();
  entries.forEach((entry, i) => {
    const path = `Bundle.entry[${i}]`;
    const fullUrl = checkEntry(entry, i, type, c, fullUrls);
    if (entry.resource === undefined) return;
    acc.add(entry.resource, `${path}.resource`, {
      fullUrl,
      index: i,
      conditionalReferences: type === "transaction" || type === "batch",
      keepFirstVersion: type === "history",
    });
  });
  return acc.result();
}

/** Ingests a single resource that is not a Bundle. */
export function ingestResource(resource: unknown, options: IngestOptions = {}): IngestResult {
  const type = resourceTypeOf(resource);
  if (type === "Bundle") throw new FhirValidationError("Bundle", "Bundle", "expected a single resource, not a Bundle");
  const acc = new Accumulator(options);
  // Only an R4 type name goes into the path: an unknown one is input, and input stays out of messages.
  acc.add(resource, type !== undefined && R4_RESOURCE_TYPES.has(type) ? type : "Resource", {});
  return acc.result();
}

/**
 * Ingests what a wearable, home device or PHR app sends: a Bundle, a single Observation, or an
 * array of resources. Every Observation becomes a WEARABLE_STREAMS record with its readings.
 */
export function ingestWearable(input: unknown, options: Omit<IngestOptions, "origin"> = {}): IngestResult {
  const phr: IngestOptions = { ...options, origin: "phr" };
  if (!Array.isArray(input)) return ingest(input, phr);
  const acc = new Accumulator(phr);
  input.forEach((resource, i) => acc.add(resource, `[${i}]`, { index: i }));
  return acc.result();
}

/** Parses FHIR JSON text; malformed text is refused like malformed FHIR (no excerpt of it is kept). */
export function parseFhirJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FhirValidationError("$", undefined, "not well-formed JSON");
  }
}

function resourceTypeOf(input: unknown): string | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  const type = (input as Json).resourceType;
  return typeof type === "string" ? type : undefined;
}

/** Bundle-level rules of one entry; returns its fullUrl. */
function checkEntry(
  entry: Json,
  i: number,
  type: BundleType,
  c: Checker,
  fullUrls: Map<string, number>,
): string | undefined {
  const path = `Bundle.entry[${i}]`;
  let fullUrl: string | undefined;
  if (entry.fullUrl !== undefined) {
    fullUrl = c.uri(entry.fullUrl, `${path}.fullUrl`);
    if (!isAbsoluteUri(fullUrl)) c.fail(`${path}.fullUrl`, "fullUrl must be an absolute URI, not a relative reference");
    const version = versionOf(entry.resource);
    const key = type === "history" ? `${fullUrl}|${version ?? ""}` : fullUrl;
    const earlier = fullUrls.get(key);
    if (earlier !== undefined)
      c.fail(`${path}.fullUrl`, `fullUrl is not unique: entry[${earlier}] has the same (bdl-7)`);
    fullUrls.set(key, i);
  }
  const needsRequest = type === "transaction" || type === "batch" || type === "history";
  let method: string | undefined;
  if (entry.request !== undefined) {
    if (!needsRequest) c.fail(`${path}.request`, "only transaction, batch and history entries have a request (bdl-3)");
    const request = c.object(entry.request, `${path}.request`);
    method = c.code(request.method, `${path}.request.method`, METHODS);
    c.required(request.url, `${path}.request.url`);
    c.uri(request.url, `${path}.request.url`);
  } else if (needsRequest) {
    c.fail(`${path}.request`, `a ${type} entry needs a request (bdl-3)`);
  }
  if (entry.search !== undefined && type !== "searchset")
    c.fail(`${path}.search`, "only searchset entries have search (bdl-2)");
  const responses = type === "transaction-response" || type === "batch-response" || type === "history";
  if (entry.response !== undefined && !responses)
    c.fail(`${path}.response`, "only response and history entries have a response (bdl-4)");
  if (entry.resource === undefined) {
    const bodiless = method === "GET" || method === "HEAD" || method === "DELETE" || responses;
    if (!bodiless) c.fail(`${path}.resource`, "required element is missing");
  }
  return fullUrl;
}

function versionOf(resource: unknown): string | undefined {
  if (typeof resource !== "object" || resource === null) return undefined;
  const meta = (resource as Json).meta;
  if (typeof meta !== "object" || meta === null) return undefined;
  const v = (meta as Json).versionId;
  return typeof v === "string" ? v : undefined;
}

interface Placement {
  readonly fullUrl?: string;
  readonly index?: number;
  readonly conditionalReferences?: boolean;
  /** History bundles list versions newest first: keep the first of each `Type/id`. */
  readonly keepFirstVersion?: boolean;
}

/** Collects records, readings and skip counts; nothing leaves it unless every resource passed. */
class Accumulator {
  private readonly records: TwinRecord[] = [];
  private readonly readings: VitalReading[] = [];
  private readonly skipped: Record<string, number> = {};
  private readonly warnings: IngestWarning[] = [];
  /** `Type/id` to the path of the resource that has it. */
  private readonly keys = new Map<string, string>();

  constructor(private readonly options: IngestOptions) {}

  add(input: unknown, base: string, at: Placement): void {
    const first: Checker = new Checker(undefined, undefined);
    const o = first.object(input, base);
    const type = o.resourceType;
    if (typeof type !== "string" || !R4_RESOURCE_TYPES.has(type)) {
      first.fail(`${base}.resourceType`, "not a FHIR R4 resource type");
    }
    const c = new Checker(type, isFhirId(o.id) ? o.id : undefined, at.conditionalReferences ?? false);
    checkCommon(o, c, base);
    const id = this.identity(o, c, base, at);
    if (id !== undefined) {
      const key = `${type}/${id}`;
      const earlier = this.keys.get(key);
      if (earlier !== undefined) {
        if (at.keepFirstVersion) return;
        c.fail(`${base}.id`, `duplicate resource id: ${earlier} is the same ${type}`);
      }
      this.keys.set(key, base);
    }
    if (!isModelledType(type)) {
      this.count(type);
      return;
    }
    const facts = checkModelled(type, o, c, base);
    const classification = classify(facts, this.options.origin ?? "emr");
    if ("skip" in classification) {
      this.count(classification.skip);
      return;
    }
    if (id === undefined) c.fail(`${base}.id`, "a modelled resource needs an id or a urn:uuid fullUrl");
    const key = `${type}/${id}`;
    const { code, display } = mainCode(facts);
    const record: TwinRecord = {
      key,
      kind: classification.kind,
      category: classification.category,
      ...(facts.effectiveAt !== undefined ? { effectiveAt: facts.effectiveAt } : {}),
      ...(display !== undefined ? { display } : {}),
      ...(code !== undefined ? { code } : {}),
      ...(facts.status !== undefined ? { status: facts.status } : {}),
      // A copy (JSON data: faster than structuredClone), so the caller's later changes do not reach it.
      resource: JSON.parse(JSON.stringify(o)) as Resource,
    };
    const readings = readingsOf(
      facts,
      { category: classification.category, recordKey: key, source: this.options.source, base },
      c,
      this.warnings,
    );
    this.records.push(record);
    this.readings.push(...readings);
  }

  /** The resource's id, else the id its fullUrl gives (`urn:uuid:<id>` or `<base>/<Type>/<id>`), with which it must agree. */
  private identity(o: Json, c: Checker, base: string, at: Placement): string | undefined {
    const id = typeof o.id === "string" ? o.id : undefined;
    if (at.fullUrl === undefined) return id;
    const rest = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(at.fullUrl);
    if (rest && /^https?:\/\//.test(at.fullUrl)) {
      const entryPath = base.replace(/\.resource$/, "");
      if (rest[1] !== o.resourceType) c.fail(`${entryPath}.fullUrl`, "fullUrl names another resource type");
      if (id !== undefined && rest[2] !== id)
        c.fail(`${entryPath}.fullUrl`, "fullUrl names another id than the resource");
    }
    if (id !== undefined) return id;
    if (isUrnUuid(at.fullUrl)) return at.fullUrl.slice(9).toLowerCase();
    return rest && /^https?:\/\//.test(at.fullUrl) ? rest[2] : undefined;
  }

  private count(label: string): void {
    this.skipped[label] = (this.skipped[label] ?? 0) + 1;
  }

  result(): IngestResult {
    return {
      records: this.records,
      readings: this.readings,
      skipped: this.skipped,
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
    };
  }
}
