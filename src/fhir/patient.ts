import type { Json } from "./check";

/**
 * One twin, one patient: which references name the twin's patient. A patient is known by its
 * keys: `Patient/<id>` (also reached by `<base>/Patient/<id>` and `.../_history/<v>`), its
 * `urn:uuid:` fullUrl, and its identifiers (for conditional `Patient?identifier=` and logical
 * references).
 */

const PATIENT_TAIL_RE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const TYPED_TAIL_RE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The key a reference or fullUrl names: `Patient/<id>`, `<Type>/<id>`, a lower-case `urn:uuid:`, or itself. */
export function referenceKey(reference: string): string {
  if (reference.startsWith("urn:uuid:")) return reference.toLowerCase();
  const typed = TYPED_TAIL_RE.exec(reference);
  return typed ? `${typed[1]}/${typed[2]}` : reference;
}

/** Whether a reference names a Patient by its type (relative, absolute or conditional). */
export function namesPatientType(reference: string): boolean {
  return PATIENT_TAIL_RE.test(reference) || reference.startsWith("Patient?");
}

/** The identifiers of a Patient as `system|value` (and `|value` for those without a system). */
export function identifiersOf(resource: Json): string[] {
  const out: string[] = [];
  const list = resource.identifier;
  if (!Array.isArray(list)) return out;
  for (const x of list) {
    if (typeof x !== "object" || x === null) continue;
    const { system, value } = x as { system?: unknown; value?: unknown };
    if (typeof value !== "string") continue;
    out.push(`${typeof system === "string" ? system : ""}|${value}`);
  }
  return out;
}

/** The twin's patient as ingest knows it. */
export class PatientAnchor {
  readonly keys = new Set<string>();
  readonly identifiers = new Set<string>();

  constructor(
    /** Where the Patient resource is (or `IngestOptions.patient`). */
    readonly path: string,
    /** `Patient/<id>` or the urn:uuid the patient is known by in results. */
    readonly name: string,
  ) {}

  static ofResource(resource: Json, fullUrl: string | undefined, id: string | undefined, path: string): PatientAnchor {
    const anchor = new PatientAnchor(path, id !== undefined ? `Patient/${id}` : referenceKey(fullUrl ?? ""));
    if (id !== undefined) anchor.keys.add(`Patient/${id}`);
    if (fullUrl !== undefined) anchor.keys.add(referenceKey(fullUrl));
    if (fullUrl !== undefined && id === undefined && fullUrl.startsWith("urn:uuid:")) {
      anchor.keys.add(`Patient/${fullUrl.slice(9).toLowerCase()}`);
    }
    for (const identifier of identifiersOf(resource)) anchor.identifiers.add(identifier);
    return anchor;
  }

  /**
   * The twin's patient as the caller names it. `Patient/<uuid>` and `urn:uuid:<uuid>` name the
   * same patient: ingest keys a resource known only by its `urn:uuid:` fullUrl by that UUID.
   */
  static ofOption(reference: string): PatientAnchor {
    const key = referenceKey(reference);
    const anchor = new PatientAnchor("IngestOptions.patient", key);
    anchor.keys.add(key);
    const uuid =
      /^(?:Patient\/|urn:uuid:)([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/.exec(
        key,
      );
    if (uuid) {
      anchor.keys.add(`Patient/${uuid[1]}`);
      anchor.keys.add(`urn:uuid:${uuid[1].toLowerCase()}`);
    }
    return anchor;
  }

  /** Whether two anchors are the same patient (a shared key). */
  sameAs(other: PatientAnchor): boolean {
    for (const key of other.keys) if (this.keys.has(key)) return true;
    return false;
  }

  /** Whether a Reference (its `reference`, else its logical `identifier`) names this patient. */
  matches(ref: Json): boolean {
    const reference = typeof ref.reference === "string" ? ref.reference : undefined;
    if (reference !== undefined) {
      if (reference.startsWith("Patient?")) return this.matchesConditional(reference.slice(8));
      return this.keys.has(referenceKey(reference));
    }
    const identifier = ref.identifier as { system?: unknown; value?: unknown } | undefined;
    if (identifier !== undefined && typeof identifier.value === "string") {
      const system = typeof identifier.system === "string" ? identifier.system : "";
      return this.identifiers.has(`${system}|${identifier.value}`);
    }
    return false;
  }

  /** `identifier=[system|]value` (the only criterion that names one patient for sure). */
  private matchesConditional(query: string): boolean {
    const params = query.split("&");
    if (params.length !== 1 || !params[0].startsWith("identifier=")) return false;
    let token: string;
    try {
      token = decodeURIComponent(params[0].slice("identifier=".length));
    } catch {
      return false;
    }
    if (!token.includes("|")) {
      for (const identifier of this.identifiers) if (identifier.endsWith(`|${token}`)) return true;
      return false;
    }
    return this.identifiers.has(token);
  }
}
