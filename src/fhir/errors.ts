import { TwinLedgerError } from "../errors";

/** Where in a multi-resource input a fault lies: the Bundle entry or the NDJSON line. */
export interface FaultLocation {
  /** Index of the Bundle entry (0-based), when the input was a Bundle. */
  readonly entryIndex?: number;
  /** Line number (1-based), when the input was NDJSON. */
  readonly line?: number;
}

/**
 * FHIR input was refused. The message names the resource (type/id, or the entry index when the
 * resource has no usable identity) and the path of the fault, and says what *kind* of value was
 * wrong; it never repeats the value itself, which may be a measurement, a name or a birth date.
 */
export class FhirValidationError extends TwinLedgerError {
  /** Index of the Bundle entry (0-based) the fault is in, when the input was a Bundle. */
  readonly entryIndex?: number;
  /** Line (1-based) the fault is on, when the input was NDJSON. */
  readonly line?: number;

  constructor(
    /** FHIRPath-like location of the fault, e.g. `Bundle.entry[3].resource.valueQuantity.value`. */
    readonly path: string,
    /** Resource type of the offending resource, when it is known. */
    readonly resourceType: string | undefined,
    /** What was wrong, without the value. */
    readonly reason: string,
    /** The resource's id when it has a well-formed one. */
    readonly resourceId?: string,
    where: FaultLocation = {},
    code = "FHIR_INVALID",
  ) {
    super(code, `${describe(resourceType, resourceId)}${locate(where, path)} at ${path}: ${reason}`);
    if (where.entryIndex !== undefined) this.entryIndex = where.entryIndex;
    if (where.line !== undefined) this.line = where.line;
  }

  /** The same fault, placed at a Bundle entry or NDJSON line (kept when already placed). */
  locatedAt(where: FaultLocation): FhirValidationError {
    if (this.entryIndex !== undefined || this.line !== undefined) return this;
    const located =
      this instanceof FhirLimitError
        ? new FhirLimitError(this.path, this.resourceType, this.limit, this.max, this.resourceId, where)
        : new FhirValidationError(this.path, this.resourceType, this.reason, this.resourceId, where, this.code);
    return located;
  }
}

/** The limit an input exceeded (see `IngestLimits`). */
export type FhirLimitName = "maxDepth" | "maxStringLength" | "maxResourceBytes" | "maxInputBytes" | "maxEntries";

/**
 * FHIR input exceeded a configured limit (nesting depth, string length, resource or input size,
 * entry count). A FhirValidationError, so callers that refuse invalid input refuse it too.
 */
export class FhirLimitError extends FhirValidationError {
  constructor(
    path: string,
    resourceType: string | undefined,
    /** Which limit was exceeded. */
    readonly limit: FhirLimitName,
    /** The limit's value. */
    readonly max: number,
    resourceId?: string,
    where: FaultLocation = {},
  ) {
    super(path, resourceType, `exceeds the ${limit} limit of ${max}`, resourceId, where, "FHIR_LIMIT_EXCEEDED");
  }
}

/**
 * A FHIR Consent could not be turned into an on-chain grant (it is not active, grants nothing,
 * or says something a single grant of category, action and purpose masks cannot express safely).
 */
export class FhirConsentError extends TwinLedgerError {
  constructor(
    /** Path of the element that could not be mapped, e.g. `Consent.provision.provision[1]`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super("FHIR_CONSENT_UNMAPPABLE", `Consent at ${path}: ${reason}`);
  }
}

function describe(resourceType: string | undefined, id: string | undefined): string {
  if (resourceType === undefined) return "Resource";
  return id === undefined ? resourceType : `${resourceType}/${id}`;
}

/** The line, or the entry when the path does not already name it. */
function locate(where: FaultLocation, path: string): string {
  if (where.line !== undefined) return ` (line ${where.line})`;
  if (where.entryIndex !== undefined && !/entry\[\d+\]/.test(path)) return ` (entry ${where.entryIndex})`;
  return "";
}
