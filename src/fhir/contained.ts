import { isFhirId, type Checker, type Json } from "./check";
import type { Concept } from "./facts";
import { isModelledType } from "./facts";
import type { FoundReference } from "./limits";
import { referenceKey } from "./patient";

/**
 * Contained resources: the dom-2 and dangling-reference checks, the contained Medication a
 * prescription names, and the unpacking of the modelled resources a List or a DiagnosticReport
 * holds as contained resources into records of their own.
 */

/**
 * Contained resources hold no contained resources of their own (dom-2), and every `#id`
 * reference names one of them (`#` alone names the container). A dangling `#id` is kept with
 * a warning: the data is whole, only a link inside it is broken.
 */
export function checkContained(o: Json, c: Checker, base: string, references: readonly FoundReference[]): void {
  const ids = new Set<string>();
  if (Array.isArray(o.contained)) {
    o.contained.forEach((inner, k) => {
      const r = inner as Json;
      if (r.contained !== undefined) {
        c.fail(`${base}.contained[${k}].contained`, "a contained resource cannot contain resources (dom-2)");
      }
      if (typeof r.id === "string") ids.add(r.id);
    });
  }
  for (const ref of references) {
    const reference = ref.value.reference;
    if (typeof reference !== "string" || !reference.startsWith("#") || reference === "#") continue;
    if (!ids.has(reference.slice(1))) {
      c.warn(`${ref.path}.reference`, "a contained reference names no contained resource");
    }
  }
}

/** The code of a contained Medication (`#id`), validated. */
export function containedMedication(o: Json, id: string, c: Checker, base: string): Concept | undefined {
  const contained = Array.isArray(o.contained) ? o.contained : [];
  const index = contained.findIndex(
    (r) => typeof r === "object" && r !== null && (r as Json).resourceType === "Medication" && (r as Json).id === id,
  );
  if (index < 0) return undefined;
  const medication = contained[index] as Json;
  if (medication.code === undefined) return undefined;
  return c.codeableConcept(medication.code, `${base}.contained[${index}].code`, true);
}

/** The id a contained resource is recorded under: `<containerId>.<containedId>`, if that is a FHIR id. */
export function unpackedId(containerId: string | undefined, containedId: string): string | undefined {
  if (containerId === undefined) return undefined;
  const id = `${containerId}.${containedId}`;
  return isFhirId(id) ? id : undefined;
}

/** The ids of the contained resources a List lists in its entries (`entry.item` = `#id`). */
export function listedInList(o: Json, c: Checker, base: string): Set<string> {
  const listed = new Set<string>();
  c.each(o.entry, `${base}.entry`, (x, path) => {
    const entry = c.object(x, path);
    c.required(entry.item, `${path}.item`);
    const item = c.reference(entry.item, `${path}.item`);
    if (item.reference?.startsWith("#")) listed.add(item.reference.slice(1));
  });
  return listed;
}

/** The ids of the contained resources a DiagnosticReport names as results (`result` = `#id`). */
export function listedInReport(o: Json): Set<string> {
  const listed = new Set<string>();
  for (const ref of Array.isArray(o.result) ? (o.result as unknown[]) : []) {
    const reference = typeof ref === "object" && ref !== null ? (ref as Json).reference : undefined;
    if (typeof reference === "string" && reference.startsWith("#") && reference.length > 1)
      listed.add(reference.slice(1));
  }
  return listed;
}

/** One contained resource to ingest as a record of its own. */
export interface Unpacked {
  /** A copy, its id rewritten to `id` and its `#id` links to siblings rewritten to their record keys. */
  readonly resource: Json;
  readonly id: string;
  readonly path: string;
}

/**
 * The modelled resources a container holds as contained resources and names in `listed` (a
 * List's entries, a DiagnosticReport's results), each copied with its id made
 * `<containerId>.<containedId>` and its references to the container's other contained
 * resources rewritten to their records' keys (`Type/<containerId>.<id>`). Contained Medications
 * come along (prescriptions take their names from them). A container without an id gives none,
 * with a warning. `rewrite` is called on each copy's references to rewrite them in place.
 */
export function unpackContained(
  o: Json,
  c: Checker,
  base: string,
  containerId: string | undefined,
  listed: ReadonlySet<string>,
  referencesOf: (copy: Json, path: string) => readonly FoundReference[],
): Unpacked[] {
  const contained = Array.isArray(o.contained) ? (o.contained as Json[]) : [];
  const keys = new Map<string, string>();
  for (const r of contained) {
    const id = typeof r.id === "string" ? unpackedId(containerId, r.id) : undefined;
    if (id !== undefined && typeof r.resourceType === "string") keys.set(r.id as string, `${r.resourceType}/${id}`);
  }
  const out: Unpacked[] = [];
  contained.forEach((r, k) => {
    const type = r.resourceType as string;
    const containedId = r.id as string;
    const path = `${base}.contained[${k}]`;
    const medication = type === "Medication";
    if (!medication && (!listed.has(containedId) || !isModelledType(type) || type === "Patient")) return;
    const id = unpackedId(containerId, containedId);
    if (id === undefined) {
      if (!medication) c.warn(path, "a contained resource of a container without a usable id is not unpacked");
      return;
    }
    const copy = JSON.parse(JSON.stringify(r)) as Json;
    copy.id = id;
    for (const ref of referencesOf(copy, path)) {
      const reference = ref.value.reference;
      if (typeof reference === "string" && reference.startsWith("#")) {
        const key = keys.get(reference.slice(1));
        if (key !== undefined) ref.value.reference = key;
      }
    }
    out.push({ resource: copy, id, path });
  });
  return out;
}

/**
 * The record keys a DiagnosticReport's results name, from the resource alone (so that a record
 * rebuilt from its stored resource has the same): `Observation/<id>` for a relative, absolute
 * or version-specific reference, `Observation/<uuid>` for a `urn:uuid:` one (R4 results are
 * Observations), `Observation/<reportId>.<id>` for a contained one. A result that names no
 * Observation this way (an identifier, a conditional or a display only) has no key and is left
 * undefined; ingest warns about it.
 */
export function resultKeys(o: Json, reportId: string | undefined): (string | undefined)[] {
  const results = Array.isArray(o.result) ? (o.result as unknown[]) : [];
  return results.map((ref) => resultKey(ref, reportId));
}

function resultKey(ref: unknown, reportId: string | undefined): string | undefined {
  const reference = typeof ref === "object" && ref !== null ? (ref as Json).reference : undefined;
  if (typeof reference !== "string") return undefined;
  if (reference.startsWith("#")) {
    const id = unpackedId(reportId, reference.slice(1));
    return id === undefined ? undefined : `Observation/${id}`;
  }
  if (reference.startsWith("urn:uuid:")) return `Observation/${reference.slice(9).toLowerCase()}`;
  const key = referenceKey(reference);
  return key.startsWith("Observation/") ? key : undefined;
}
