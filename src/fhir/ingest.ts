import type { Resource } from "@medplum/fhirtypes";
import { BUNDLE_TYPES, checkEntry, type BundleType } from "./bundle-entry";
import { Checker, isFhirId, isUrnUuid, type Json } from "./check";
import { classify, mainCode, type Origin } from "./classify";
import {
  checkContained,
  containedMedication,
  listedInList,
  listedInReport,
  resultKeys,
  unpackContained,
} from "./contained";
import { recordContentDigest } from "./digest";
import { FhirLimitError, FhirValidationError, type FaultLocation } from "./errors";
import type { Concept } from "./facts";
import { splitJson } from "./json-split";
import { checkInputSize, resolveLimits, scanResource, type IngestLimits } from "./limits";
import { PatientAnchor, namesPatientType, referenceKey } from "./patient";
import { readingsOf } from "./readings";
import type { IngestResult, IngestWarning, TwinRecord, VitalReading } from "./records";
import { R4_RESOURCE_TYPES } from "./resource-types";
import { checkCommon, checkModelled, isModelledType } from "./validate-resource";

/**
 * FHIR R4 in: a Bundle of any type, a single resource, or NDJSON (see ndjson.ts), to TwinRecords
 * and VitalReadings. Input is validated in full before anything is returned: a refused input
 * yields an error and nothing else (all-or-nothing). Records keep a copy of their resource, so
 * later changes to the caller's objects do not reach them.
 *
 * One twin, one patient: every record's subject (subject, patient, beneficiary) must resolve to
 * the input's single Patient, or to `IngestOptions.patient` (the twin's registered patient
 * reference). A Bundle or NDJSON file without a Patient is refused unless that option is given;
 * a single resource (or a wearable's list) without either is accepted when its subjects agree,
 * and `IngestResult.patient` says whom it is about, for the caller to compare with the twin.
 */

export interface IngestOptions {
  /**
   * `emr` (default): a hospital export; `phr`: a personal device or app, whose Observations are
   * all WEARABLE_STREAMS.
   */
  readonly origin?: Origin;
  /** Source id put on readings whose Observation names no device (e.g. the PHR app's id). */
  readonly source?: string;
  /**
   * The twin's patient as a reference (`Patient/123`, `https://ehr.example.org/fhir/Patient/123`
   * or `urn:uuid:...`): every subject must name it, and a Patient in the input must be it.
   */
  readonly patient?: string;
  /** Overrides of the input limits (see `DEFAULT_LIMITS`). */
  readonly limits?: Partial<IngestLimits>;
}

/** Ingests a Bundle (any type) or a single resource. */
export function ingest(input: unknown, options: IngestOptions = {}): IngestResult {
  const type = resourceTypeOf(input);
  return type === "Bundle" ? ingestBundle(input, options) : ingestResource(input, options);
}

/** Ingests a Bundle of any type; every entry is validated before anything is returned. */
export function ingestBundle(bundle: unknown, options: IngestOptions = {}): IngestResult {
  return ingestBundleWith(bundle, options, {});
}

/** @internal Bundle ingest with the flags of streamed and exported input. */
export function ingestBundleWith(bundle: unknown, options: IngestOptions, flags: AccumulatorFlags): IngestResult {
  const acc = new Accumulator(options, flags.lenient ? "lenient" : "strict", flags);
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
  if (Array.isArray(o.entry) && o.entry.length > acc.limits.maxEntries) {
    throw new FhirLimitError("Bundle.entry", "Bundle", "maxEntries", acc.limits.maxEntries, bundleId);
  }
  const entries = c.each(o.entry, "Bundle.entry", (e, path) => c.object(e, path));
  if (type === "document") {
    const first = entries[0]?.resource as Json | undefined;
    if (first?.resourceType !== "Composition")
      c.fail("Bundle.entry[0].resource", "a document Bundle begins with its Composition (bdl-11)");
  }
  const fullUrls = new Map<string, number>();
  entries.forEach((entry, i) => {
    const ec = new Checker("Bundle", bundleId, false, undefined, { entryIndex: i });
    const path = `Bundle.entry[${i}]`;
    const { fullUrl, searchMode } = checkEntry(entry, i, type, ec, fullUrls);
    if (entry.resource === undefined) return;
    acc.add(entry.resource, `${path}.resource`, {
      fullUrl,
      where: { entryIndex: i },
      conditionalReferences: type === "transaction" || type === "batch",
      keepFirstVersion: type === "history",
      included: searchMode === "include",
    });
  });
  return acc.result();
}

/** Ingests a single resource that is not a Bundle. */
export function ingestResource(resource: unknown, options: IngestOptions = {}): IngestResult {
  const type = resourceTypeOf(resource);
  if (type === "Bundle") throw new FhirValidationError("Bundle", "Bundle", "expected a single resource, not a Bundle");
  const acc = new Accumulator(options, "lenient", {});
  // Only an R4 type name goes into the path: an unknown one is input, and input stays out of messages.
  acc.add(resource, type !== undefined && R4_RESOURCE_TYPES.has(type) ? type : "Resource", {});
  return acc.result();
}

/**
 * Ingests what a wearable, home device or PHR app sends: a Bundle, a single Observation, or an
 * array of resources. Every Observation becomes a WEARABLE_STREAMS record with its readings.
 * Without `options.patient` (which the pipeline should pass), input holding no Patient is
 * accepted when its subjects agree; `IngestResult.patient` says whom.
 */
export function ingestWearable(input: unknown, options: Omit<IngestOptions, "origin"> = {}): IngestResult {
  const phr: IngestOptions = { ...options, origin: "phr" };
  // A device stream names its patient but holds no Patient resource: lenient unless `patient` is given.
  if (resourceTypeOf(input) === "Bundle") return ingestBundleWith(input, phr, { lenient: true });
  if (!Array.isArray(input)) return ingest(input, phr);
  const acc = new Accumulator(phr, "lenient", {});
  if (input.length > acc.limits.maxEntries) {
    throw new FhirLimitError("[]", undefined, "maxEntries", acc.limits.maxEntries);
  }
  input.forEach((resource, i) => acc.add(resource, `[${i}]`, { where: { entryIndex: i } }));
  return acc.result();
}

/**
 * Parses FHIR JSON text; malformed text is refused like malformed FHIR (no excerpt of it is
 * kept). Text longer than `maxInputBytes` is refused at once; a Bundle's entries are cut apart
 * and parsed one at a time (json-split.ts), and text nested too deep, a string, an entry or
 * the Bundle's other members too large, or too many entries, are refused with a FhirLimitError
 * as the scan meets them, before that part is parsed.
 */
export function parseFhirJson(text: string, limits: Partial<IngestLimits> = {}): unknown {
  const resolved = resolveLimits(limits);
  checkInputSize(text, resolved);
  return splitJson(text, resolved);
}

function resourceTypeOf(input: unknown): string | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  const type = (input as Json).resourceType;
  return typeof type === "string" ? type : undefined;
}

/** @internal Where one resource sits in its input. */
export interface Placement {
  readonly fullUrl?: string;
  /** The Bundle entry or NDJSON line, put on every error. */
  readonly where?: FaultLocation;
  readonly conditionalReferences?: boolean;
  /** History bundles list versions newest first: keep the first of each `Type/id`. */
  readonly keepFirstVersion?: boolean;
  /** A searchset entry with `search.mode = include`: context for references, not a record. */
  readonly included?: boolean;
  /** A contained resource unpacked from a List: the id it is recorded under (`<listId>.<containedId>`). */
  readonly unpackedId?: string;
}

/** @internal */
export interface AccumulatorFlags {
  /** The input objects were built by ingest itself (a stream or NDJSON parse): no copy needed. */
  readonly owned?: boolean;
  /** Validate only (an export checking itself): the records' subjects are not matched to a patient. */
  readonly skipPatientCheck?: boolean;
  /** A device's stream: a Bundle without a Patient passes when its subjects agree. */
  readonly lenient?: boolean;
}

/** A subject-like reference to match against the twin's patient once every resource is known. */
interface SubjectCheck {
  readonly ref: Json;
  readonly path: string;
  readonly c: Checker;
  /** Whether the resource becomes a record (its subject must be the patient). */
  readonly modelled: boolean;
}

/** A record whose name and code come from a Medication elsewhere in the input. */
interface PendingMedication {
  readonly index: number;
  readonly reference: string;
}

/** A report's result, to be found in the input or else warned about. */
interface PendingResult {
  readonly reference: string;
  readonly key: string;
  readonly path: string;
  readonly c: Checker;
}

const SUBJECT_FIELDS = ["subject", "patient", "beneficiary"] as const;

/**
 * @internal Collects records, readings and skip counts; nothing leaves it unless every resource
 * passed. `strict`: a multi-resource input (Bundle, NDJSON), which needs a Patient or
 * `options.patient`; `lenient`: a single resource or a wearable list.
 */
export class Accumulator {
  readonly limits: IngestLimits;
  private readonly records: TwinRecord[] = [];
  private readonly readings: VitalReading[] = [];
  private readonly skipped: Record<string, number> = {};
  private readonly warnings: IngestWarning[] = [];
  /** `Type/id` to the path of the resource that has it. */
  private readonly keys = new Map<string, string>();
  /** Reference keys (`Type/id`, fullUrl) to the resource type they name, for resolution. */
  private readonly targets = new Map<string, string>();
  /** Reference keys of Medication resources to their code. */
  private readonly medications = new Map<string, Concept>();
  private readonly pendingMedications: PendingMedication[] = [];
  /** Results of reports, to look for in the whole input. */
  private readonly pendingResults: PendingResult[] = [];
  private readonly subjects: SubjectCheck[] = [];
  private anchor: PatientAnchor | undefined;
  private incomplete = false;
  private totalBytes = 0;
  private count = 0;

  constructor(
    private readonly options: IngestOptions,
    private readonly mode: "strict" | "lenient",
    private readonly flags: AccumulatorFlags,
  ) {
    this.limits = resolveLimits(options.limits);
  }

  add(input: unknown, base: string, at: Placement): void {
    const where = at.where ?? {};
    if (++this.count > this.limits.maxEntries) {
      throw new FhirLimitError(base, undefined, "maxEntries", this.limits.maxEntries, undefined, where);
    }
    const first: Checker = new Checker(undefined, undefined, false, undefined, where);
    const o = first.object(input, base);
    const type = o.resourceType;
    if (typeof type !== "string" || !R4_RESOURCE_TYPES.has(type)) {
      first.fail(`${base}.resourceType`, "not a FHIR R4 resource type");
    }
    const resourceId = isFhirId(o.id) ? o.id : undefined;
    const scan = scanResource(o, base, this.limits, (path, limit, max) => {
      throw new FhirLimitError(path, type, limit, max, resourceId, where);
    });
    this.totalBytes += scan.bytes;
    if (this.totalBytes > this.limits.maxInputBytes) {
      throw new FhirLimitError(base, type, "maxInputBytes", this.limits.maxInputBytes, resourceId, where);
    }
    const c = new Checker(type, resourceId, at.conditionalReferences ?? false, this.warnings, where);
    checkCommon(o, c, base, scan.references);
    checkContained(o, c, base, scan.references);
    const id = at.unpackedId ?? this.identity(o, c, base, at);
    if (id !== undefined) {
      const key = `${type}/${id}`;
      const earlier = this.keys.get(key);
      if (earlier !== undefined) {
        if (at.keepFirstVersion) return;
        c.fail(`${base}.id`, `duplicate resource id: ${earlier} is the same ${type}`);
      }
      this.keys.set(key, base);
      this.targets.set(key, type);
    }
    if (at.fullUrl !== undefined) this.targets.set(referenceKey(at.fullUrl), type);
    if (type === "Patient") this.addPatient(o, c, base, at, id);
    if (type === "OperationOutcome") this.readOutcome(o, c, base);
    if (type === "Bundle") {
      c.warn(base, "a Bundle inside a Bundle is not unpacked: its entries are not ingested");
    }
    if ((type === "List" || type === "DiagnosticReport") && !at.included) this.unpack(o, c, base, at, id);
    const modelled = isModelledType(type);
    if (type !== "Patient") {
      for (const field of SUBJECT_FIELDS) {
        const ref = o[field];
        if (typeof ref === "object" && ref !== null && !Array.isArray(ref)) {
          this.subjects.push({ ref: ref as Json, path: `${base}.${field}`, c, modelled: modelled && !at.included });
        }
      }
    }
    if (!modelled) {
      this.skip(at.included ? `${type}(include)` : type);
      return;
    }
    const facts = checkModelled(type, o, c, base);
    if (type === "Medication" && facts.main !== undefined) {
      if (id !== undefined) this.medications.set(`Medication/${id}`, facts.main);
      if (at.fullUrl !== undefined) this.medications.set(referenceKey(at.fullUrl), facts.main);
    }
    if (at.included) {
      this.skip(`${type}(include)`);
      return;
    }
    const classification = classify(facts, this.options.origin ?? "emr");
    if ("skip" in classification) {
      this.skip(classification.skip);
      return;
    }
    if (id === undefined) c.fail(`${base}.id`, "a modelled resource needs an id or a urn:uuid fullUrl");
    const key = `${type}/${id}`;
    let main = facts.main;
    if (facts.medicationReference?.startsWith("#")) {
      main = containedMedication(o, facts.medicationReference.slice(1), c, base) ?? main;
    } else if (facts.medicationReference !== undefined) {
      this.pendingMedications.push({ index: this.records.length, reference: facts.medicationReference });
    }
    const { code, display } = mainCode(facts, main);
    const record: TwinRecord = {
      key,
      kind: classification.kind,
      category: classification.category,
      ...(facts.effectiveAt !== undefined ? { effectiveAt: facts.effectiveAt } : {}),
      ...((type === "FamilyMemberHistory" ? (facts.display ?? display) : display) !== undefined
        ? { display: type === "FamilyMemberHistory" ? (facts.display ?? display) : display }
        : {}),
      ...(code !== undefined ? { code } : {}),
      ...(facts.status !== undefined ? { status: facts.status } : {}),
      ...(type === "DiagnosticReport" ? { results: this.reportResults(o, id, c, base) } : {}),
      // A copy (JSON data: faster than structuredClone), so the caller's later changes do not reach it.
      resource: (this.flags.owned ? o : JSON.parse(JSON.stringify(o))) as Resource,
    };
    const readings = readingsOf(
      facts,
      { category: classification.category, recordKey: key, source: this.options.source, base },
      c,
      this.warnings,
    );
    this.records.push(record);
    for (const reading of readings) this.readings.push(reading);
  }

  /** A report's result keys; those that name no Observation, or none in this input, are warned about. */
  private reportResults(o: Json, id: string | undefined, c: Checker, base: string): string[] {
    const keys: string[] = [];
    resultKeys(o, id).forEach((key, i) => {
      const path = `${base}.result[${i}]`;
      if (key === undefined) {
        c.warn(path, "a result that names no Observation by reference is not linked");
        return;
      }
      if (!keys.includes(key)) keys.push(key);
      this.pendingResults.push({ reference: String((o.result as Json[])[i].reference), key, path, c });
    });
    return keys;
  }

  private addPatient(o: Json, c: Checker, base: string, at: Placement, id: string | undefined): void {
    const anchor = PatientAnchor.ofResource(o, at.fullUrl, id, base);
    if (this.anchor !== undefined && !this.anchor.sameAs(anchor)) {
      c.fail(base, `a second Patient: one input holds one patient's data (the first is at ${this.anchor.path})`);
    }
    if (this.options.patient !== undefined && !anchor.sameAs(PatientAnchor.ofOption(this.options.patient))) {
      c.fail(base, "this Patient is not the twin's patient (IngestOptions.patient)");
    }
    this.anchor ??= anchor;
  }

  /**
   * A List (a problem list, a medication list, a family history) is not a record itself, but
   * the modelled resources it holds as contained resources and lists in its entries are; so are
   * the contained Observations a DiagnosticReport names as its results. Each is ingested as a
   * resource of its own, recorded as `Type/<containerId>.<containedId>` (see contained.ts).
   * Entries that reference resources outside the container are left to them.
   */
  private unpack(o: Json, c: Checker, base: string, at: Placement, containerId: string | undefined): void {
    if (!Array.isArray(o.contained) || o.contained.length === 0) return;
    const listed = o.resourceType === "List" ? listedInList(o, c, base) : listedInReport(o);
    const referencesOf = (copy: Json, path: string) =>
      scanResource(copy, path, this.limits, (p, limit, max) => {
        throw new FhirLimitError(p, String(copy.resourceType), limit, max, undefined, at.where ?? {});
      }).references;
    for (const unpacked of unpackContained(o, c, base, containerId, listed, referencesOf)) {
      this.add(unpacked.resource, unpacked.path, {
        where: at.where,
        conditionalReferences: at.conditionalReferences,
        unpackedId: unpacked.id,
      });
    }
  }

  /** An OperationOutcome with an error or fatal issue says the export is incomplete. */
  private readOutcome(o: Json, c: Checker, base: string): void {
    const issues = c.each(o.issue, `${base}.issue`, (x, path) => {
      const issue = c.object(x, path);
      return c.code(issue.severity, `${path}.severity`, ["fatal", "error", "warning", "information"]);
    });
    if (issues.some((s) => s === "fatal" || s === "error")) {
      this.incomplete = true;
      c.warn(base, "reports an error or a fatal issue: the export is incomplete, data may be missing");
    }
  }

  /** The resource's id, else the id its fullUrl gives (`urn:uuid:<id>` or `<base>/<Type>/<id>`), with which it must agree. */
  private identity(o: Json, c: Checker, base: string, at: Placement): string | undefined {
    const id = typeof o.id === "string" ? o.id : undefined;
    if (at.fullUrl === undefined) return id;
    const rest = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(at.fullUrl);
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

  private skip(label: string): void {
    this.skipped[label] = (this.skipped[label] ?? 0) + 1;
  }

  /** Resolves what needed the whole input, and returns the result. */
  result(): IngestResult {
    const patient = this.checkSubjects();
    for (const pending of this.pendingMedications) {
      const concept = this.medications.get(referenceKey(pending.reference));
      if (concept === undefined) continue;
      const record = this.records[pending.index];
      const medication: Concept = concept;
      const facts = {
        resourceType: "MedicationRequest" as const,
        enteredInError: false,
        main: medication,
        display: record.display,
      };
      const { code, display } = mainCode(facts, medication);
      this.records[pending.index] = {
        ...record,
        ...(code !== undefined ? { code } : {}),
        ...(display !== undefined ? { display } : {}),
      };
    }
    if (!this.flags.skipPatientCheck) {
      for (const r of this.pendingResults) {
        if (this.keys.has(r.key) || this.targets.get(referenceKey(r.reference)) === "Observation") continue;
        r.c.warn(r.path, "a result is not in this input: the twin links it if it holds it, else lists it as missing");
      }
    }
    const records = this.records.map((record) => ({ ...record, digest: recordContentDigest(record) }));
    return {
      records,
      readings: this.readings,
      skipped: this.skipped,
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
      ...(this.incomplete ? { incomplete: true } : {}),
      ...(patient !== undefined ? { patient } : {}),
    };
  }

  /** Every subject names the twin's patient; returns how the patient is known. */
  private checkSubjects(): string | undefined {
    if (this.flags.skipPatientCheck) return this.anchor?.name;
    const option = this.options.patient !== undefined ? PatientAnchor.ofOption(this.options.patient) : undefined;
    const anchor = this.anchor ?? option;
    if (anchor !== undefined && this.anchor !== undefined && option !== undefined) {
      for (const key of option.keys) this.anchor.keys.add(key);
    }
    if (anchor === undefined) return this.checkUnanchored();
    for (const s of this.subjects) {
      if (anchor.matches(s.ref)) continue;
      const reference = typeof s.ref.reference === "string" ? s.ref.reference : undefined;
      const target = reference === undefined ? undefined : this.targets.get(referenceKey(reference));
      const patientTyped = reference !== undefined && (namesPatientType(reference) || target === "Patient");
      if (!s.modelled && !patientTyped) continue; // e.g. a CarePlan about a Group: skipped anyway
      const why =
        reference === undefined
          ? "names no reference that resolves to the twin's patient"
          : patientTyped
            ? "names another patient than the twin's: one twin holds one patient's data"
            : "does not resolve to the twin's patient";
      s.c.fail(`${s.path}${reference === undefined ? "" : ".reference"}`, why);
    }
    return anchor.name;
  }

  /** No Patient and no `options.patient`. */
  private checkUnanchored(): string | undefined {
    const named = this.subjects.filter((s) => s.modelled || typeof s.ref.reference === "string");
    if (named.length === 0) return undefined;
    if (this.mode === "strict") {
      const s = named[0];
      s.c.fail(
        s.path,
        "the input holds no Patient: give the twin's patient reference (IngestOptions.patient) to ingest it",
      );
    }
    let seen: string | undefined;
    for (const s of named) {
      const reference = typeof s.ref.reference === "string" ? s.ref.reference : undefined;
      if (reference === undefined) {
        if (s.modelled) s.c.fail(s.path, "names no reference that resolves to the twin's patient");
        continue;
      }
      const key = referenceKey(reference);
      if (!s.modelled && !namesPatientType(reference)) continue;
      if (seen !== undefined && key !== seen)
        s.c.fail(`${s.path}.reference`, "names another patient than the others: one twin holds one patient's data");
      seen = key;
    }
    // Not verified against the twin's patient: `patient` in the result says whom the input is about.
    return seen;
  }
}
