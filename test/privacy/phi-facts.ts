import type { Bundle, Resource } from "@medplum/fhirtypes";

/**
 * The facts of one synthetic patient that must never be readable from the chain or from the files the service
 * leaves: identifiers (name, record number, resource ids and references), the birth date in several formats,
 * condition, medication, procedure and immunization texts and codes, every code display, and the readings' values
 * with their times. Each fact is a string; the scanner looks for it as UTF-8, as hex text and as keccak256, and
 * for times also as ABI words.
 */
export interface PhiFacts {
  /** Texts (names, ids, codes, displays, dates, values with times). */
  readonly texts: readonly string[];
  /** Unix times in seconds (birth date, reading times): looked for as 32-byte and 8-byte big-endian words. */
  readonly times: readonly number[];
}

/** Codes of these resource types are the patient's own facts (vital-sign LOINC codes are everyone's). */
const CODED = new Set([
  "Condition",
  "MedicationRequest",
  "MedicationStatement",
  "Procedure",
  "Immunization",
  "AllergyIntolerance",
]);

interface Coding {
  readonly code?: string;
  readonly display?: string;
}
interface Concept {
  readonly coding?: readonly Coding[];
  readonly text?: string;
}
interface Quantity {
  readonly value?: number;
  readonly unit?: string;
}
interface ValueHolder {
  readonly code?: Concept;
  readonly valueQuantity?: Quantity;
}

export function phiFactsOf(bundles: readonly Bundle[], extra: readonly string[] = []): PhiFacts {
  const texts = new Set<string>(extra);
  const times = new Set<number>();
  const addDate = (date: string) => {
    const [y, m, d] = date.slice(0, 10).split("-");
    for (const form of [
      `${y}-${m}-${d}`,
      `${y}${m}${d}`,
      `${d}/${m}/${y}`,
      `${m}/${d}/${y}`,
      `${d}.${m}.${y}`,
      `${y}/${m}/${d}`,
    ]) {
      texts.add(form);
    }
    times.add(Date.parse(`${y}-${m}-${d}T00:00:00Z`) / 1000);
  };
  const addConcept = (concept: Concept | undefined, withCodes: boolean) => {
    if (concept?.text) texts.add(concept.text);
    for (const coding of concept?.coding ?? []) {
      if (coding.display) texts.add(coding.display);
      if (withCodes && coding.code) texts.add(coding.code);
    }
  };
  const addValue = (holder: ValueHolder, at: string | undefined) => {
    const q = holder.valueQuantity;
    if (q?.value === undefined || at === undefined) return;
    const seconds = Date.parse(at) / 1000;
    times.add(seconds);
    texts.add(at);
    texts.add(String(seconds));
    texts.add(`${q.value} ${q.unit ?? ""}`.trim());
    texts.add(`${q.value}@${at}`);
    texts.add(`${q.value}@${seconds}`);
  };
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      if (entry.fullUrl) texts.add(entry.fullUrl);
      const resource = entry.resource as (Resource & Record<string, unknown>) | undefined;
      if (resource === undefined) continue;
      if (resource.id) {
        texts.add(resource.id);
        texts.add(`${resource.resourceType}/${resource.id}`);
      }
      if (resource.resourceType === "Patient") {
        for (const identifier of resource.identifier ?? []) if (identifier.value) texts.add(identifier.value);
        for (const name of resource.name ?? []) {
          const given = (name.given ?? []).join(" ");
          if (name.family) texts.add(name.family);
          for (const g of name.given ?? []) texts.add(g);
          if (name.family && given) {
            texts.add(`${given} ${name.family}`);
            texts.add(`${name.family}, ${given}`);
          }
        }
        if (resource.birthDate) addDate(resource.birthDate);
      }
      const withCodes = CODED.has(resource.resourceType);
      for (const key of ["code", "medicationCodeableConcept", "vaccineCode", "type"] as const) {
        const value = resource[key];
        for (const concept of Array.isArray(value) ? value : [value])
          addConcept(concept as Concept | undefined, withCodes);
      }
      if (resource.resourceType === "Observation") {
        const at = resource.effectiveDateTime as string | undefined;
        addValue(resource as ValueHolder, at);
        for (const component of (resource.component as ValueHolder[] | undefined) ?? []) {
          addConcept(component.code, false);
          addValue(component, at);
        }
      }
    }
  }
  return { texts: [...texts].filter((t) => t.length > 0), times: [...times] };
}
