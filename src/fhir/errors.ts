import { TwinLedgerError } from "../errors";

/**
 * FHIR input was refused. The message names the resource (type/id, or the entry index when the
 * resource has no usable identity) and the path of the fault, and says what *kind* of value was
 * wrong; it never repeats the value itself, which may be a measurement, a name or a birth date.
 */
export class FhirValidationError extends TwinLedgerError {
  constructor(
    /** FHIRPath-like location of the fault, e.g. `Bundle.entry[3].resource.valueQuantity.value`. */
    readonly path: string,
    /** Resource type of the offending resource, when it is known. */
    readonly resourceType: string | undefined,
    /** What was wrong, without the value. */
    readonly reason: string,
    /** The resource's id when it has a well-formed one. */
    readonly resourceId?: string,
  ) {
    super("FHIR_INVALID", `${describe(resourceType, resourceId)} at ${path}: ${reason}`);
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
