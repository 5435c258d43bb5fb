import type { TwinRecord } from "../../fhir/records";
import { GatewayError } from "../errors";
import {
  categoriesOfType,
  OBSERVATION_CATEGORIES,
  OBSERVATION_CATEGORY_SYSTEMS,
  type FhirResourceType,
  type ObservationCategory,
} from "../smart-scopes";

/**
 * The search parameters of the FHIR read API, parsed from the request and matched against a twin's records.
 *
 * - `_id`: the resource id; `patient`: the subject (`Patient/<id>`, `<id>` or a `urn:uuid:` reference);
 * - `code`: a token (`system|code`, `code`, `|code`, `system|`) against the resource's main code (Observation.code,
 *   Condition.code, MedicationRequest.medicationCodeableConcept, AllergyIntolerance.code, Immunization.vaccineCode,
 *   Procedure.code);
 * - `date`: `[ge|le|gt|lt|eq]YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|±hh:mm]]]]` against the record's clinical time (the
 *   twin's `effectiveAt`: effective, onset, authoredOn, occurrence, performed, recorded), with FHIR's precision rules;
 * - `category`: for Observation the twin's category (`laboratory`, `vital-signs`, `wearable`; it also decides which
 *   consent categories the request needs), for the others a token against the resource's own `category`;
 * - `_count` (page size, default 50, at most 200) and `_offset` (where the page starts among the matches the consent
 *   allows; the `next` link carries it).
 *
 * A repeated parameter is AND, a comma inside one is OR. Any other parameter, or a modifier (`code:text`), is refused
 * (400): a filter silently ignored would answer more than was asked.
 */
export type SearchParams = Readonly<Record<string, readonly string[]>>;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

const COMMON = ["_id", "_count", "_offset"];
const CLINICAL = [...COMMON, "patient", "code", "date"];
/** The parameters each resource type takes. */
export const SEARCH_PARAMETERS: Readonly<Record<FhirResourceType, readonly string[]>> = {
  Patient: COMMON,
  Observation: [...CLINICAL, "category"],
  Condition: [...CLINICAL, "category"],
  MedicationRequest: [...CLINICAL, "category"],
  AllergyIntolerance: [...CLINICAL, "category"],
  Immunization: CLINICAL,
  Procedure: [...CLINICAL, "category"],
};

function invalid(message: string): GatewayError {
  return new GatewayError("invalid-params", message);
}

/** The search parameters of a URL query string as a multi-map, each list sorted (what the signature covers). */
export function searchParamsOf(search: URLSearchParams): SearchParams {
  const out: Record<string, string[]> = {};
  for (const [name, value] of search) (out[name] ??= []).push(value);
  for (const list of Object.values(out)) list.sort();
  return out;
}

/** The parsed search: its filters, page and the consent categories it needs. */
export interface ParsedSearch {
  readonly resourceType: FhirResourceType;
  /** The DataCategory bits the search reads (the signed `query.category`). */
  readonly categories: number;
  /** Whether the request named its Observation categories (then each must be granted). */
  readonly explicitCategories: boolean;
  readonly count: number;
  readonly offset: number;
  /** Every filter must hold (AND). */
  readonly filters: readonly ((record: TwinRecord) => boolean)[];
}

/**
 * Parses and checks a search (or a read: `id` given, matched as `_id`).
 * @throws GatewayError `invalid-params` naming the parameter (never its value).
 */
export function parseSearch(resourceType: FhirResourceType, params: SearchParams, id?: string): ParsedSearch {
  const allowed = SEARCH_PARAMETERS[resourceType];
  for (const name of Object.keys(params)) {
    if (!allowed.includes(name)) throw invalid(`${resourceType} does not support the search parameter ${short(name)}`);
  }
  const filters: ((record: TwinRecord) => boolean)[] = [];
  const ids = [...(params._id ?? []), ...(id !== undefined ? [id] : [])];
  for (const value of ids) filters.push(anyOf(value, (v) => (r) => r.resource.id === v));
  for (const value of params.patient ?? []) filters.push(anyOf(value, (v) => (r) => subjectIs(r, v)));
  for (const value of params.code ?? []) filters.push(anyOf(value, (v) => tokenFilter(v, codesOf)));
  for (const value of params.date ?? []) filters.push(anyOf(value, dateFilter));
  let categories = categoriesOfType(resourceType);
  let explicitCategories = false;
  for (const value of params.category ?? []) {
    if (resourceType === "Observation") {
      const mask = value.split(",").reduce((m, token) => m | observationCategoryBit(token), 0);
      categories &= mask;
      explicitCategories = true;
      filters.push((r) => (r.category & mask) !== 0);
    } else {
      filters.push(anyOf(value, (v) => tokenFilter(v, categoryCodesOf)));
    }
  }
  if (categories === 0) throw invalid("the category parameters exclude each other");
  return {
    resourceType,
    categories,
    explicitCategories,
    count: integer(params._count, "_count", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    offset: integer(params._offset, "_offset", 0, 0, Number.MAX_SAFE_INTEGER),
    filters,
  };
}

/** Whether a record is a match of the search (its resource type, and every filter). */
export function matches(search: ParsedSearch, record: TwinRecord): boolean {
  return record.resource.resourceType === search.resourceType && search.filters.every((filter) => filter(record));
}

const short = (text: string): string => JSON.stringify(text.slice(0, 40));

function integer(values: readonly string[] | undefined, name: string, fallback: number, min: number, max: number) {
  if (values === undefined) return fallback;
  const value = values.length === 1 && /^[0-9]{1,15}$/.test(values[0]) ? Number(values[0]) : NaN;
  if (!(value >= min)) throw invalid(`${name} must be one integer of at least ${min}`);
  return Math.min(value, max);
}

function anyOf(value: string, make: (token: string) => (record: TwinRecord) => boolean) {
  const alternatives = value.split(",").map((token) => {
    if (token === "") throw invalid("an empty search value");
    return make(token);
  });
  return (record: TwinRecord) => alternatives.some((alternative) => alternative(record));
}

function observationCategoryBit(token: string): number {
  const bar = token.indexOf("|");
  const system = bar < 0 ? undefined : token.slice(0, bar);
  const code = bar < 0 ? token : token.slice(bar + 1);
  if (system !== undefined && system !== "" && !OBSERVATION_CATEGORY_SYSTEMS.includes(system)) {
    throw invalid("an Observation category system this API does not know");
  }
  if (!Object.prototype.hasOwnProperty.call(OBSERVATION_CATEGORIES, code)) {
    throw invalid(`Observation categories here are ${Object.keys(OBSERVATION_CATEGORIES).join(", ")}`);
  }
  return OBSERVATION_CATEGORIES[code as ObservationCategory];
}

// ---------------------------------------------------------------------------------------------------------------
// References and tokens
// ---------------------------------------------------------------------------------------------------------------

interface Coding {
  readonly system?: string;
  readonly code?: string;
}
type Json = Record<string, unknown>;

/** The id a reference names: `Patient/<id>` (or a full URL ending so), `urn:uuid:<id>`, or `<id>`. */
function referencedId(reference: string): string {
  if (reference.startsWith("urn:uuid:")) return reference.slice("urn:uuid:".length);
  const parts = reference.split("/");
  return parts.length >= 2 && parts[parts.length - 2] === "Patient" ? parts[parts.length - 1] : reference;
}

function subjectIs(record: TwinRecord, value: string): boolean {
  const resource = record.resource as unknown as Json;
  const subject = (resource.subject ?? resource.patient) as { reference?: unknown } | undefined;
  if (typeof subject?.reference !== "string") return false;
  return referencedId(subject.reference) === referencedId(value);
}

function codingsOf(concept: unknown): Coding[] {
  if (typeof concept === "string") return [{ code: concept }]; // a plain code (AllergyIntolerance.category)
  if (concept === null || typeof concept !== "object") return [];
  const coding = (concept as { coding?: unknown }).coding;
  return Array.isArray(coding) ? (coding.filter((c) => c !== null && typeof c === "object") as Coding[]) : [];
}

const MAIN_CODE: Readonly<Record<string, string>> = {
  Observation: "code",
  Condition: "code",
  MedicationRequest: "medicationCodeableConcept",
  AllergyIntolerance: "code",
  Immunization: "vaccineCode",
  Procedure: "code",
};

function codesOf(record: TwinRecord): Coding[] {
  const element = MAIN_CODE[record.resource.resourceType];
  return element === undefined ? [] : codingsOf((record.resource as unknown as Json)[element]);
}

function categoryCodesOf(record: TwinRecord): Coding[] {
  const category = (record.resource as unknown as Json).category;
  return (Array.isArray(category) ? category : [category]).flatMap(codingsOf);
}

/** A token filter: `system|code`, `code` (any system), `|code` (no system), `system|` (any code of the system). */
function tokenFilter(token: string, codings: (record: TwinRecord) => Coding[]) {
  const bar = token.indexOf("|");
  const system = bar < 0 ? undefined : token.slice(0, bar);
  const code = bar < 0 ? token : token.slice(bar + 1);
  return (record: TwinRecord) =>
    codings(record).some(
      (c) =>
        (code === "" || c.code === code) &&
        (system === undefined || (system === "" ? c.system === undefined : c.system === system)),
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------------------------

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The half-open range [start, end) of epoch ms a FHIR date, dateTime or instant covers at its precision. */
export function dateRange(value: string): readonly [number, number] | null {
  const m = DATE.exec(value);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const offset =
    zone === undefined || zone === "Z"
      ? 0
      : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
  const at = (yy: number, mm: number, dd: number, hh: number, mn: number, ss: number, ms: number) =>
    Date.UTC(yy, mm, dd, hh, mn, ss, ms) - offset * 60_000;
  const Y = Number(y);
  if (mo === undefined) return [at(Y, 0, 1, 0, 0, 0, 0), at(Y + 1, 0, 1, 0, 0, 0, 0)];
  const M = Number(mo) - 1;
  if (d === undefined) return [at(Y, M, 1, 0, 0, 0, 0), at(Y, M + 1, 1, 0, 0, 0, 0)];
  const D = Number(d);
  if (h === undefined) return [at(Y, M, D, 0, 0, 0, 0), at(Y, M, D + 1, 0, 0, 0, 0)];
  const start = at(Y, M, D, Number(h), Number(mi), Number(s ?? 0), Number((frac ?? "0").padEnd(3, "0").slice(0, 3)));
  const width = s === undefined ? 60_000 : frac === undefined ? 1000 : 1;
  return [start, start + width];
}

const PREFIXES = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"] as const;

/**
 * A `date` filter with FHIR's prefix semantics over ranges (R4 3.1.1.4.2): `eq` the record's range lies within the
 * value's; `gt`/`lt` the record's range reaches beyond its end/before its start; `ge`/`le` either of those or `eq`.
 */
function dateFilter(token: string) {
  const prefix = PREFIXES.find((p) => token.startsWith(p));
  const range = dateRange(prefix === undefined ? token : token.slice(2));
  if (range === null) throw invalid("date must be [prefix]YYYY[-MM[-DD[Thh:mm[:ss]][zone]]]");
  if (prefix !== undefined && !["eq", "gt", "lt", "ge", "le"].includes(prefix)) {
    throw invalid("date prefixes here are eq, gt, lt, ge and le");
  }
  const [from, to] = range;
  return (record: TwinRecord) => {
    const own = record.effectiveAt === undefined ? null : dateRange(record.effectiveAt);
    if (own === null) return false;
    const [start, end] = own;
    const within = start >= from && end <= to;
    switch (prefix ?? "eq") {
      case "gt":
        return end > to;
      case "lt":
        return start < from;
      case "ge":
        return end > to || within;
      case "le":
        return start < from || within;
      default:
        return within;
    }
  };
}
