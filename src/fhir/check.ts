import { FhirValidationError, type FaultLocation } from "./errors";
import type { IngestWarning } from "./records";
import { R4_RESOURCE_TYPES } from "./resource-types";
import { fhirTimeStart, isFhirTemporal, type TemporalKind } from "./time";

/** A JSON object as parsed, before it is known to be any FHIR type. */
export type Json = Record<string, unknown>;

/** A FHIR Coding after validation. */
export interface CheckedCoding {
  readonly system?: string;
  readonly code?: string;
  readonly display?: string;
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE_RE = /^[^\s]+( [^\s]+)*$/;
const URI_RE = /^\S+$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const OID_RE = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const ABSOLUTE_URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const RELATIVE_REF_RE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const CONDITIONAL_REF_RE = /^([A-Z][A-Za-z]+)\?\S+$/;

/** Whether `text` is a FHIR id (1 to 64 of letters, digits, `-` and `.`). */
export function isFhirId(text: unknown): text is string {
  return typeof text === "string" && ID_RE.test(text);
}

/** Whether `text` is `urn:uuid:` followed by a UUID. */
export function isUrnUuid(text: string): boolean {
  return text.startsWith("urn:uuid:") && UUID_RE.test(text.slice(9));
}

/** Whether `text` is an absolute URI as Bundle.entry.fullUrl requires (`urn:uuid:`, `urn:oid:`, `https://`, ...). */
export function isAbsoluteUri(text: string): boolean {
  if (text.startsWith("urn:uuid:")) return isUrnUuid(text);
  if (text.startsWith("urn:oid:")) return OID_RE.test(text.slice(8));
  return ABSOLUTE_URI_RE.test(text);
}

/** Whether `text` starts `urn:oid:` but what follows is not an OID (digits and dots, no leading zeros). */
export function isInvalidOid(text: string): boolean {
  return text.startsWith("urn:oid:") && !OID_RE.test(text.slice(8));
}

/** Whether `text` is a well-formed Reference.reference. */
export function isWellFormedReference(text: string, allowConditional: boolean): boolean {
  if (text.startsWith("#")) return text === "#" || ID_RE.test(text.slice(1));
  const relative = RELATIVE_REF_RE.exec(text);
  if (relative) return R4_RESOURCE_TYPES.has(relative[1]);
  if (text.startsWith("urn:"))
    return isAbsoluteUri(text) && (text.startsWith("urn:uuid:") || text.startsWith("urn:oid:"));
  if (/^https?:\/\//.test(text)) return URI_RE.test(text) && text.length > 8;
  const conditional = CONDITIONAL_REF_RE.exec(text);
  return allowConditional && conditional !== null && R4_RESOURCE_TYPES.has(conditional[1]);
}

/**
 * Typed structural checks on one resource. Every failure throws a FhirValidationError naming the
 * resource and the path; the messages describe the expected kind of value and never the value.
 */
export class Checker {
  constructor(
    readonly resourceType: string | undefined,
    readonly resourceId: string | undefined,
    /** Whether conditional references (`Patient?identifier=...`) are allowed (transaction/batch). */
    readonly allowConditionalReferences = false,
    /** Where accepted-but-odd input is reported; without it, warnings are dropped. */
    private readonly warnings?: IngestWarning[],
    /** The Bundle entry or NDJSON line of the resource, put on every error. */
    readonly where: FaultLocation = {},
  ) {}

  fail(path: string, reason: string): never {
    throw new FhirValidationError(path, this.resourceType, reason, this.resourceId, this.where);
  }

  /** Reports something accepted but odd; `what` must not contain a value of the input. */
  warn(path: string, what: string): void {
    const who =
      this.resourceType === undefined
        ? "Resource"
        : `${this.resourceType}${this.resourceId ? `/${this.resourceId}` : ""}`;
    this.warnings?.push({ path, message: `${who}: ${what}` });
  }

  /** Fails with "required element is missing" when the value is absent. */
  private present(value: unknown, path: string): void {
    if (value === undefined || value === null) this.fail(path, "required element is missing");
  }

  object(value: unknown, path: string): Json {
    this.present(value, path);
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(path, "expected an object");
    return value as Json;
  }

  array(value: unknown, path: string): unknown[] {
    this.present(value, path);
    if (!Array.isArray(value)) this.fail(path, "expected an array");
    if (value.length === 0) this.fail(path, "arrays must not be empty");
    return value;
  }

  /** Checks each element of an optional array; returns the checked elements (none when absent). */
  each<T>(value: unknown, path: string, check: (item: unknown, itemPath: string) => T): T[] {
    if (value === undefined) return [];
    return this.array(value, path).map((item, i) => check(item, `${path}[${i}]`));
  }

  required(value: unknown, path: string): void {
    if (value === undefined || value === null) this.fail(path, "required element is missing");
  }

  string(value: unknown, path: string): string {
    this.present(value, path);
    if (typeof value !== "string") this.fail(path, "expected a string");
    if (value.trim().length === 0) this.fail(path, "strings must not be empty");
    return value;
  }

  optString(value: unknown, path: string): string | undefined {
    return value === undefined ? undefined : this.string(value, path);
  }

  code<T extends string>(value: unknown, path: string, allowed?: readonly T[]): T {
    this.present(value, path);
    if (typeof value !== "string" || !CODE_RE.test(value)) this.fail(path, "expected a code");
    if (allowed && !(allowed as readonly string[]).includes(value))
      this.fail(path, "code is not in the allowed value set");
    return value as T;
  }

  optCode<T extends string>(value: unknown, path: string, allowed?: readonly T[]): T | undefined {
    return value === undefined ? undefined : this.code(value, path, allowed);
  }

  uri(value: unknown, path: string): string {
    this.present(value, path);
    if (typeof value !== "string" || !URI_RE.test(value)) this.fail(path, "expected a URI without whitespace");
    if (isInvalidOid(value))
      this.fail(path, "invalid OID: urn:oid: must be followed by numbers separated by dots, without leading zeros");
    return value;
  }

  boolean(value: unknown, path: string): boolean {
    this.present(value, path);
    if (typeof value !== "boolean") this.fail(path, "expected a boolean");
    return value;
  }

  decimal(value: unknown, path: string): number {
    this.present(value, path);
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(path, "expected a finite number");
    return value;
  }

  integer(value: unknown, path: string, min = -(2 ** 31)): number {
    this.present(value, path);
    if (typeof value !== "number" || !Number.isInteger(value)) this.fail(path, "expected an integer");
    if (value < min || value >= 2 ** 31) this.fail(path, `expected an integer of at least ${min}`);
    return value;
  }

  temporal(value: unknown, path: string, kind: TemporalKind): string {
    this.present(value, path);
    if (typeof value !== "string" || !isFhirTemporal(value, kind)) {
      this.fail(path, `expected a valid FHIR ${kind}`);
    }
    return value;
  }

  optTemporal(value: unknown, path: string, kind: TemporalKind): string | undefined {
    return value === undefined ? undefined : this.temporal(value, path, kind);
  }

  id(value: unknown, path: string): string {
    this.present(value, path);
    if (!isFhirId(value)) this.fail(path, "expected a FHIR id (1-64 letters, digits, '-' or '.')");
    return value;
  }

  /**
   * A Coding. R4 makes `system` optional: with `systemExpected`, a code without its system is
   * kept (its system unknown, `system` undefined) and a warning is given, since the code alone
   * cannot be interpreted safely.
   */
  coding(value: unknown, path: string, systemExpected = false, systemRequired = false): CheckedCoding {
    const o = this.object(value, path);
    const system = o.system === undefined ? undefined : this.uri(o.system, `${path}.system`);
    const code = this.optCode(o.code, `${path}.code`);
    const display = this.optString(o.display, `${path}.display`);
    if (o.version !== undefined) this.string(o.version, `${path}.version`);
    if (o.userSelected !== undefined) this.boolean(o.userSelected, `${path}.userSelected`);
    if (systemRequired && code !== undefined && system === undefined)
      this.fail(`${path}.system`, "a code needs its code system");
    if (systemExpected && code !== undefined && system === undefined)
      this.warn(`${path}.system`, "a code without its code system was kept with the system unknown");
    return { system, code, display };
  }

  /** A CodeableConcept; returns its codings. */
  codeableConcept(value: unknown, path: string, systemRequired = false): { codings: CheckedCoding[]; text?: string } {
    const o = this.object(value, path);
    const codings = this.each(o.coding, `${path}.coding`, (c, p) => this.coding(c, p, systemRequired));
    const text = this.optString(o.text, `${path}.text`);
    if (codings.length === 0 && text === undefined && o.extension === undefined) {
      this.fail(path, "a CodeableConcept needs a coding, a text or an extension");
    }
    return { codings, text };
  }

  /**
   * A CodeableConcept that needs at least one coded value; with `textSuffices` (elements R4
   * binds only by example or preference, e.g. Observation.code), a text alone is enough.
   */
  codedConcept(value: unknown, path: string, textSuffices = false): { codings: CheckedCoding[]; text?: string } {
    const concept = this.codeableConcept(value, path, true);
    if (textSuffices && concept.text !== undefined) return concept;
    if (!concept.codings.some((c) => c.code !== undefined))
      this.fail(
        `${path}.coding`,
        textSuffices ? "expected a coding with a code, or a text" : "expected at least one coding with a code",
      );
    return concept;
  }

  reference(value: unknown, path: string): { reference?: string; display?: string } {
    const o = this.object(value, path);
    let reference: string | undefined;
    if (o.reference !== undefined) {
      reference = this.string(o.reference, `${path}.reference`);
      if (isInvalidOid(reference)) {
        this.fail(
          `${path}.reference`,
          "invalid OID: urn:oid: must be followed by numbers separated by dots, without leading zeros",
        );
      }
      if (!this.allowConditionalReferences && CONDITIONAL_REF_RE.test(reference)) {
        this.fail(`${path}.reference`, "a conditional reference is only allowed in a transaction or batch Bundle");
      }
      if (!isWellFormedReference(reference, this.allowConditionalReferences)) {
        this.fail(`${path}.reference`, "not a well-formed relative, absolute, urn or contained reference");
      }
    }
    if (o.type !== undefined) this.uri(o.type, `${path}.type`);
    if (o.identifier !== undefined) this.object(o.identifier, `${path}.identifier`);
    const display = this.optString(o.display, `${path}.display`);
    if (reference === undefined && o.identifier === undefined && display === undefined && o.extension === undefined) {
      this.fail(path, "a Reference needs a reference, an identifier, a display or an extension");
    }
    return { reference, display };
  }

  period(value: unknown, path: string): { start?: string; end?: string } {
    const o = this.object(value, path);
    const start = this.optTemporal(o.start, `${path}.start`, "dateTime");
    const end = this.optTemporal(o.end, `${path}.end`, "dateTime");
    if (start !== undefined && end !== undefined && fhirTimeStart(start) > fhirTimeStart(end)) {
      this.fail(path, "period start is after its end (per-1)");
    }
    return { start, end };
  }

  quantity(value: unknown, path: string): { value?: number; unit?: string; system?: string; code?: string } {
    const o = this.object(value, path);
    const v = o.value === undefined ? undefined : this.decimal(o.value, `${path}.value`);
    this.optCode(o.comparator, `${path}.comparator`, ["<", "<=", ">=", ">"]);
    const unit = this.optString(o.unit, `${path}.unit`);
    const system = o.system === undefined ? undefined : this.uri(o.system, `${path}.system`);
    const code = this.optCode(o.code, `${path}.code`);
    if (code !== undefined && system === undefined) this.fail(`${path}.system`, "a unit code needs its system (qty-3)");
    return { value: v, unit, system, code };
  }

  /** Of the keys `prefix` + a type name, at most one may be present; returns its key. */
  choice(o: Json, prefix: string, path: string, allowed: readonly string[]): string | undefined {
    const present = Object.keys(o).filter(
      (k) => k.startsWith(prefix) && /^[A-Z]/.test(k.slice(prefix.length)) && o[k] !== undefined,
    );
    if (present.length > 1) this.fail(`${path}.${prefix}[x]`, "only one type of a choice element may be present");
    const key = present[0];
    if (key !== undefined && !allowed.includes(key.slice(prefix.length))) {
      this.fail(`${path}.${key}`, `not an allowed type for ${prefix}[x]`);
    }
    return key;
  }
}
