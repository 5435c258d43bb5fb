import type {
  CodeableConcept,
  Coding,
  Consent,
  ConsentProvision,
  ConsentProvisionActor,
  Patient,
  Reference,
} from "@medplum/fhirtypes";
import { TwinLedgerError } from "../errors";
import {
  ALL_ACTIONS,
  ALL_CATEGORIES,
  ALL_PURPOSES,
  Action,
  DataCategory,
  Purpose,
  namesOf,
  type ActionName,
  type DataCategoryName,
  type PurposeName,
} from "../vocabulary";
import { System } from "./codes";
import {
  ACTION_CODES,
  ACT_REASON_SYSTEMS,
  CATEGORY_RESOURCE_TYPES,
  EXPORTED_CLASSES,
  PURPOSE_CODES,
  RESOURCE_TYPE_CATEGORIES,
  SECTION_CATEGORIES,
  bitOfName,
} from "./consent-codes";
import { FhirConsentError } from "./errors";
import { fhirTimeEndExclusive, fhirTimeStart, isoSeconds } from "./time";
import { validateConsent } from "./consent-validate";

/**
 * FHIR R4 Consent to and from the on-chain grant of ConsentPolicy: category, action and purpose
 * masks and a validity window in seconds (`validFrom <= now < validUntil`).
 *
 * Reading a Consent:
 * - Only `active` consents map. The base rule is the policyRule (v3 OPTIN/OPTINR permit,
 *   OPTOUT/OPTOUTE deny; a `type` on the root provision overrides it).
 * - The root provision's class, code, action and purpose limit everything; its period is the
 *   window (a date-only end includes that whole day), its actors are the grantees.
 * - Nested `permit` provisions, when there are any, are what is granted (each within the root);
 *   an opt-in consent without them grants the root itself; nested `deny` provisions are taken out.
 * - An element that names nothing (no class, no action, ...) does not limit: categories and
 *   purposes are then all, but actions default to READ (WRITE and SHARE must be explicit), and a
 *   `research` or `treatment` scope limits purposes to RESEARCH or TREATMENT.
 * - What a grant cannot say exactly is approximated on the safe side for permits (a permit with
 *   security labels, data, actors or a narrower period is left out; unknown codes grant nothing)
 *   and for denies (an unknown code denies everything in its dimension), with one note each.
 *   One exception: a class naming a resource type grants the whole category holding it
 *   (MedicationRequest grants MEDICATIONS, which also holds MedicationStatement), also noted.
 *   With `strict`, any approximation throws instead.
 */

/** Seconds: the largest uint40, used as `validUntil` of a consent without an end. */
export const OPEN_ENDED_UNTIL = 2 ** 40 - 1;

/** Seconds: 9999-12-31T23:59:59Z, the last second a FHIR dateTime can name. */
const FHIR_LAST_SECOND = 253_402_300_799;

/** The terms of an on-chain grant (IConsentPolicy.Grant without the revocation time). */
export interface ConsentGrant {
  readonly categories: number;
  readonly actions: number;
  readonly purposes: number;
  /** First second of validity. */
  readonly validFrom: number;
  /** First second after validity. */
  readonly validUntil: number;
}

export interface ConsentMappingOptions {
  /** Actions granted when no provision names any; READ unless given. */
  readonly defaultActions?: number;
  /** Throw a FhirConsentError rather than approximate. */
  readonly strict?: boolean;
}

export interface ConsentGrantee {
  /** The actor's role code, e.g. `IRCP`. */
  readonly role?: string;
  readonly reference: ConsentProvisionActor["reference"];
}

export interface MappedConsent {
  readonly grant: ConsentGrant;
  readonly patient?: Reference<Patient>;
  /** Actors of the root provision: whom the grant is for. */
  readonly grantees: readonly ConsentGrantee[];
  /** Whether the grant says exactly what the consent says. */
  readonly exact: boolean;
  /** One line per approximation: the path and what was done (no health data). */
  readonly notes: readonly string[];
}

/** Who a grant is about and for, to write it as a Consent. */
export interface GrantSubject {
  readonly patient: Reference<Patient>;
  /** The grantee: a Practitioner, Organization, Device, ... (an Ethereum account can be an identifier). */
  readonly grantee?: ConsentProvisionActor["reference"];
  readonly id?: string;
  /** When the consent was given (dateTime). */
  readonly dateTime?: string;
}

/** Maps a FHIR R4 Consent to a grant, with its grantees and notes on any approximation. */
export function mapConsent(input: unknown, options: ConsentMappingOptions = {}): MappedConsent {
  const consent = validateConsent(input);
  const mapper = new ConsentMapper(consent, options);
  return mapper.map();
}

/** Maps a FHIR R4 Consent to the grant's terms. */
export function consentToGrant(input: unknown, options: ConsentMappingOptions = {}): ConsentGrant {
  return mapConsent(input, options).grant;
}

/**
 * Writes a grant as an active opt-in R4 Consent whose root provision states every term
 * explicitly; mapping it back gives the same grant. (A `validUntil` after the year 9999, which
 * FHIR cannot write, is written as no end and reads back as OPEN_ENDED_UNTIL.)
 */
export function grantToConsent(grant: ConsentGrant, subject: GrantSubject): Consent {
  checkGrant(grant);
  const provision: ConsentProvision = {
    period: {
      start: isoSeconds(grant.validFrom * 1000),
      ...(grant.validUntil - 1 <= FHIR_LAST_SECOND ? { end: isoSeconds((grant.validUntil - 1) * 1000) } : {}),
    },
    ...(subject.grantee !== undefined
      ? {
          actor: [
            {
              role: { coding: [{ system: System.participationType, code: "IRCP", display: "information recipient" }] },
              reference: subject.grantee,
            },
          ],
        }
      : {}),
    action: namesOf(Action, grant.actions).map(actionConcept),
    class: namesOf(DataCategory, grant.categories).flatMap(categoryClasses),
    purpose: namesOf(Purpose, grant.purposes).map(purposeCoding),
  };
  return {
    resourceType: "Consent",
    ...(subject.id !== undefined ? { id: subject.id } : {}),
    status: "active",
    scope: { coding: [{ system: System.consentScope, code: "patient-privacy" }] },
    category: [{ coding: [{ system: System.loinc, code: "59284-0", display: "Patient Consent" }] }],
    patient: subject.patient,
    ...(subject.dateTime !== undefined ? { dateTime: subject.dateTime } : {}),
    policyRule: { coding: [{ system: System.actCode, code: "OPTIN" }] },
    provision,
  };
}

function actionConcept(name: ActionName): CodeableConcept {
  return {
    coding: [
      { system: System.consentAction, code: ACTION_CODES[name][0] },
      { system: System.twinAction, code: name },
    ],
  };
}

function categoryClasses(name: DataCategoryName): Coding[] {
  const types = (EXPORTED_CLASSES[name] ?? []).map((code) => ({ system: System.resourceTypes, code }));
  return [...types, { system: System.twinCategory, code: name }];
}

function purposeCoding(name: PurposeName): Coding {
  const v3 = PURPOSE_CODES[name][0];
  return v3 !== undefined ? { system: System.actReason, code: v3 } : { system: System.twinPurpose, code: name };
}

function checkGrant(grant: ConsentGrant): void {
  const bad = (what: string): never => {
    throw new TwinLedgerError("INVALID_GRANT", `grant ${what}`);
  };
  const maskOk = (mask: number, all: number) => Number.isInteger(mask) && mask > 0 && (mask & ~all) === 0;
  if (!maskOk(grant.categories, ALL_CATEGORIES)) bad("categories must be a non-empty set of DataCategory bits");
  if (!maskOk(grant.actions, ALL_ACTIONS)) bad("actions must be a non-empty set of Action bits");
  if (!maskOk(grant.purposes, ALL_PURPOSES)) bad("purposes must be a non-empty set of Purpose bits");
  const timeOk = (t: number) => Number.isInteger(t) && t >= 0 && t <= OPEN_ENDED_UNTIL;
  if (!timeOk(grant.validFrom) || !timeOk(grant.validUntil) || grant.validFrom >= grant.validUntil) {
    bad("window must be whole seconds with 0 <= validFrom < validUntil <= 2^40-1");
  }
  if (grant.validFrom > FHIR_LAST_SECOND) bad("validFrom must be before the year 10000");
}

/** A grant being built: `undefined` in a dimension means "not limited". */
interface Rect {
  categories?: number;
  actions?: number;
  purposes?: number;
}
type Dimension = keyof Rect;
const DIMENSIONS: readonly Dimension[] = ["categories", "purposes", "actions"];
const ALL: Readonly<Record<Dimension, number>> = {
  categories: ALL_CATEGORIES,
  actions: ALL_ACTIONS,
  purposes: ALL_PURPOSES,
};
const TABLES = { categories: DataCategory, actions: Action, purposes: Purpose } as const;

function intersect(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : a & b;
}

class ConsentMapper {
  private readonly notes: string[] = [];
  private window = { validFrom: 0, validUntil: OPEN_ENDED_UNTIL };

  constructor(
    private readonly consent: Consent,
    private readonly options: ConsentMappingOptions,
  ) {}

  map(): MappedConsent {
    const consent = this.consent;
    if (consent.status !== "active") {
      throw new FhirConsentError("Consent.status", "only an active consent maps to a grant");
    }
    const base = this.baseRule();
    const root = consent.provision ?? {};
    const rootPath = "Consent.provision";
    for (const key of ["securityLabel", "dataPeriod", "data"] as const) {
      if (root[key] !== undefined) throw new FhirConsentError(`${rootPath}.${key}`, "cannot be expressed in a grant");
    }
    this.window = this.windowOf(root);
    const rootRect = this.constraints(root, rootPath, "permit");
    const permits: Rect[] = [];
    const denies: { rect: Rect; path: string }[] = [];
    const nested = root.provision ?? [];
    nested.forEach((p, i) => {
      const path = `${rootPath}.provision[${i}]`;
      if (p.type === "permit") {
        const rect = this.permitRule(p, path, rootRect);
        if (rect !== undefined) permits.push(rect);
      } else {
        denies.push({ rect: this.denyRule(p, path), path });
      }
    });
    const nestedPermits = nested.filter((p) => p.type === "permit").length;
    let granted: Rect;
    if (nestedPermits === 0) {
      if (base === "deny") {
        throw new FhirConsentError(rootPath, "an opt-out consent without permit provisions grants nothing");
      }
      granted = rootRect;
    } else {
      if (permits.length === 0) throw new FhirConsentError(rootPath, "no permit provision can be expressed in a grant");
      granted = permits.reduce((a, b) => union(a, b, `${rootPath}.provision`));
    }
    let grant: Record<Dimension, number> = {
      categories: granted.categories ?? ALL_CATEGORIES,
      actions: granted.actions ?? this.options.defaultActions ?? Action.READ,
      purposes: granted.purposes ?? this.scopePurposes(),
    };
    for (const deny of denies) grant = this.subtract(grant, deny.rect, deny.path);
    for (const dim of DIMENSIONS) {
      if (grant[dim] === 0) throw new FhirConsentError(rootPath, `the consent grants no ${dim}`);
    }
    return {
      grant: { ...grant, ...this.window },
      ...(consent.patient !== undefined ? { patient: consent.patient } : {}),
      grantees: (root.actor ?? []).map((a) => ({
        ...(a.role.coding?.[0]?.code !== undefined ? { role: a.role.coding[0].code } : {}),
        reference: a.reference,
      })),
      exact: this.notes.length === 0,
      notes: this.notes,
    };
  }

  private approximate(path: string, what: string): void {
    if (this.options.strict) throw new FhirConsentError(path, what);
    this.notes.push(`${path}: ${what}`);
  }

  private baseRule(): "permit" | "deny" {
    const rootType = this.consent.provision?.type;
    if (rootType !== undefined) return rootType;
    const codes = (this.consent.policyRule?.coding ?? []).filter((c) => c.system === System.actCode).map((c) => c.code);
    if (codes.some((c) => c === "OPTIN" || c === "OPTINR")) return "permit";
    if (codes.some((c) => c === "OPTOUT" || c === "OPTOUTE")) return "deny";
    throw new FhirConsentError("Consent.policyRule", "no OPTIN or OPTOUT policy rule: the base rule is unknown");
  }

  private scopePurposes(): number {
    const scope = (this.consent.scope.coding ?? []).find((c) => c.system === System.consentScope)?.code;
    if (scope === "research") return Purpose.RESEARCH;
    if (scope === "treatment") return Purpose.TREATMENT;
    return ALL_PURPOSES;
  }

  private windowOf(root: ConsentProvision): { validFrom: number; validUntil: number } {
    const start = root.period?.start ?? this.consent.dateTime;
    const end = root.period?.end;
    const validFrom = start === undefined ? 0 : clamp(Math.floor(fhirTimeStart(start) / 1000));
    const validUntil = end === undefined ? OPEN_ENDED_UNTIL : clamp(Math.ceil(fhirTimeEndExclusive(end) / 1000));
    if (validUntil <= validFrom) throw new FhirConsentError("Consent.provision.period", "the validity window is empty");
    return { validFrom, validUntil };
  }

  private permitRule(p: ConsentProvision, path: string, rootRect: Rect): Rect | undefined {
    const unsaid: string[] = (["securityLabel", "dataPeriod", "data", "actor"] as const).filter(
      (k) => p[k] !== undefined,
    );
    if (p.period !== undefined && !this.covers(p.period)) unsaid.push("period");
    if ((p.provision ?? []).some((child) => child.type !== "permit")) unsaid.push("provision");
    if (unsaid.length > 0) {
      this.approximate(path, `${unsaid.join(", ")} cannot be expressed in a grant; this permit is left out`);
      return undefined;
    }
    const own = this.constraints(p, path, "permit");
    return {
      categories: intersect(rootRect.categories, own.categories),
      actions: intersect(rootRect.actions, own.actions),
      purposes: intersect(rootRect.purposes, own.purposes),
    };
  }

  private denyRule(p: ConsentProvision, path: string): Rect {
    const ignored: string[] = (["securityLabel", "dataPeriod", "data", "actor"] as const).filter(
      (k) => p[k] !== undefined,
    );
    if (p.period !== undefined && !this.covers(p.period)) {
      if (this.overlaps(p.period)) ignored.push("period");
      else return { categories: 0, actions: 0, purposes: 0 };
    }
    if ((p.provision ?? []).length > 0) ignored.push("provision");
    if (ignored.length > 0) this.approximate(path, `${ignored.join(", ")} ignored: the deny is applied without them`);
    return this.constraints(p, path, "deny");
  }

  private covers(period: { start?: string; end?: string }): boolean {
    const from = period.start === undefined ? -Infinity : fhirTimeStart(period.start) / 1000;
    const until = period.end === undefined ? Infinity : fhirTimeEndExclusive(period.end) / 1000;
    return from <= this.window.validFrom && until >= this.window.validUntil;
  }

  private overlaps(period: { start?: string; end?: string }): boolean {
    const from = period.start === undefined ? -Infinity : fhirTimeStart(period.start) / 1000;
    const until = period.end === undefined ? Infinity : fhirTimeEndExclusive(period.end) / 1000;
    return from < this.window.validUntil && until > this.window.validFrom;
  }

  /** The limits a provision sets; unknown codes grant nothing in a permit and deny everything in a deny. */
  private constraints(p: ConsentProvision, path: string, type: "permit" | "deny"): Rect {
    const unknown = (where: string, what: Dimension): number => {
      const effect = type === "permit" ? "it grants nothing" : `the deny covers all ${what}`;
      this.approximate(where, `not a code TwinLedger maps to ${what}; ${effect}`);
      return type === "permit" ? 0 : ALL[what];
    };
    let classMask: number | undefined;
    if (p.class !== undefined) {
      classMask = 0;
      const named = new Set<string>();
      p.class.forEach((coding, i) => {
        const bits = classBits(coding);
        if (bits === undefined) classMask! |= unknown(`${path}.class[${i}]`, "categories");
        else {
          classMask! |= bits;
          if (coding.system === System.twinCategory) named.add(`#${coding.code}`);
          else named.add(coding.code!);
        }
      });
      for (const name of namesOf(DataCategory, classMask)) {
        if (named.has(`#${name}`)) continue;
        const missing = CATEGORY_RESOURCE_TYPES[name].filter((t) => !named.has(t));
        if (missing.length > 0) {
          const verb = type === "permit" ? "grants" : "denies";
          this.approximate(
            `${path}.class`,
            `${verb} the whole ${name} category, which also holds ${missing.join(", ")}`,
          );
        }
      }
    }
    let codeMask: number | undefined;
    if (p.code !== undefined) {
      codeMask = 0;
      p.code.forEach((cc, i) => {
        const bits = (cc.coding ?? []).map(codeBits).find((b) => b !== undefined);
        codeMask! |= bits ?? unknown(`${path}.code[${i}]`, "categories");
      });
    }
    let actions: number | undefined;
    if (p.action !== undefined) {
      actions = 0;
      p.action.forEach((cc, i) => {
        const bits = (cc.coding ?? []).map(actionBits).find((b) => b !== undefined);
        actions! |= bits ?? unknown(`${path}.action[${i}]`, "actions");
      });
    }
    let purposes: number | undefined;
    if (p.purpose !== undefined) {
      purposes = 0;
      p.purpose.forEach((coding, i) => {
        purposes! |= purposeBits(coding) ?? unknown(`${path}.purpose[${i}]`, "purposes");
      });
    }
    return { categories: intersect(classMask, codeMask), actions, purposes };
  }

  /** Takes a deny out of the grant: exactly when it covers the grant in two dimensions, else in one, with a note. */
  private subtract(grant: Record<Dimension, number>, deny: Rect, path: string): Record<Dimension, number> {
    const d: Record<Dimension, number> = {
      categories: deny.categories ?? ALL_CATEGORIES,
      actions: deny.actions ?? ALL_ACTIONS,
      purposes: deny.purposes ?? ALL_PURPOSES,
    };
    if (DIMENSIONS.some((dim) => (grant[dim] & d[dim]) === 0)) return grant;
    const uncovered = DIMENSIONS.filter((dim) => (grant[dim] & ~d[dim]) !== 0);
    if (uncovered.length === 0) throw new FhirConsentError(path, "this deny takes away everything the consent grants");
    const dim = uncovered[0];
    if (uncovered.length > 1) {
      const names = namesOf(TABLES[dim] as Record<string, number>, grant[dim] & d[dim]).join(", ");
      this.approximate(
        path,
        `a grant cannot deny only part of the permitted data; ${dim} ${names} are taken out entirely`,
      );
    }
    return { ...grant, [dim]: grant[dim] & ~d[dim] };
  }
}

function union(a: Rect, b: Rect, path: string): Rect {
  const contains = (x: Rect, y: Rect) =>
    DIMENSIONS.every((dim) => x[dim] === undefined || (y[dim] !== undefined && (y[dim]! & ~x[dim]!) === 0));
  if (contains(a, b)) return a;
  if (contains(b, a)) return b;
  const differing = DIMENSIONS.filter((dim) => a[dim] !== b[dim]);
  if (differing.length > 1) {
    throw new FhirConsentError(path, "permit provisions differ in more than one of categories, actions and purposes");
  }
  const dim = differing[0];
  return { ...a, [dim]: a[dim] === undefined || b[dim] === undefined ? undefined : a[dim]! | b[dim]! };
}

function clamp(seconds: number): number {
  return Math.min(Math.max(seconds, 0), OPEN_ENDED_UNTIL);
}

function classBits(coding: Coding): number | undefined {
  if (coding.system === System.twinCategory) return bitOfName(DataCategory, coding.code);
  if (coding.system === undefined || coding.system === System.resourceTypes) {
    return bitOfName(RESOURCE_TYPE_CATEGORIES, coding.code);
  }
  return undefined;
}

function codeBits(coding: Coding): number | undefined {
  if (coding.system === System.twinCategory) return bitOfName(DataCategory, coding.code);
  if (coding.system === System.loinc) return bitOfName(SECTION_CATEGORIES, coding.code);
  return undefined;
}

function actionBits(coding: Coding): number | undefined {
  if (coding.system === System.twinAction) return bitOfName(Action, coding.code);
  if (coding.system !== System.consentAction) return undefined;
  const name = (Object.keys(ACTION_CODES) as ActionName[]).find((n) => ACTION_CODES[n].includes(coding.code ?? ""));
  return name === undefined ? undefined : Action[name];
}

function purposeBits(coding: Coding): number | undefined {
  if (coding.system === System.twinPurpose) return bitOfName(Purpose, coding.code);
  if (coding.system === undefined || !ACT_REASON_SYSTEMS.has(coding.system)) return undefined;
  const name = (Object.keys(PURPOSE_CODES) as PurposeName[]).find((n) => PURPOSE_CODES[n].includes(coding.code ?? ""));
  return name === undefined ? undefined : Purpose[name];
}
