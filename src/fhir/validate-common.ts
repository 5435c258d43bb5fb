import type { Checker, Json } from "./check";
import type { Concept } from "./facts";
import type { FoundReference } from "./limits";
import { R4_RESOURCE_TYPES } from "./resource-types";

/** Checks every resource gets, and the small helpers the per-type checks share. */

/**
 * Checks every resource gets (the caller has checked that its type is R4): its id, meta,
 * narrative and contained resources are well-formed, and so is every reference in it (the
 * references a depth-bounded scan found, see limits.ts).
 */
export function checkCommon(o: Json, c: Checker, base: string, references: readonly FoundReference[]): void {
  if (o.id !== undefined) c.id(o.id, `${base}.id`);
  if (o.meta !== undefined) {
    const meta = c.object(o.meta, `${base}.meta`);
    if (meta.versionId !== undefined) c.id(meta.versionId, `${base}.meta.versionId`);
    c.optTemporal(meta.lastUpdated, `${base}.meta.lastUpdated`, "instant");
    c.each(meta.profile, `${base}.meta.profile`, (p, path) => c.uri(p, path));
  }
  if (o.text !== undefined) {
    const text = c.object(o.text, `${base}.text`);
    c.code(text.status, `${base}.text.status`, ["generated", "extensions", "additional", "empty"]);
    c.string(text.div, `${base}.text.div`);
  }
  c.each(o.contained, `${base}.contained`, (r, path) => {
    const inner = c.object(r, path);
    if (typeof inner.resourceType !== "string" || !R4_RESOURCE_TYPES.has(inner.resourceType)) {
      c.fail(`${path}.resourceType`, "not a FHIR R4 resource type");
    }
    c.id(inner.id, `${path}.id`);
  });
  for (const ref of references) c.reference(ref.value, ref.path);
}

export function concept(c: Checker, value: unknown, path: string, coded = false): Concept | undefined {
  if (value === undefined) return undefined;
  return coded ? c.codedConcept(value, path) : c.codeableConcept(value, path, true);
}

/** The concept of a required or optional element bound only by example (a text alone suffices). */
export function textOrCode(c: Checker, value: unknown, path: string): Concept {
  return c.codedConcept(value, path, true);
}

export function requiredReference(c: Checker, o: Json, key: string, base: string): void {
  c.required(o[key], `${base}.${key}`);
  c.reference(o[key], `${base}.${key}`);
}

export function firstCode(cc: Concept | undefined): string | undefined {
  return cc?.codings.find((x) => x.code !== undefined)?.code;
}

/** `onset[x]`-style choices: returns the time the choice gives, if it is a date/time or a period. */
export function choiceTime(
  c: Checker,
  o: Json,
  prefix: string,
  base: string,
  allowed: readonly string[],
): string | undefined {
  const key = c.choice(o, prefix, base, allowed);
  if (key === undefined) return undefined;
  const path = `${base}.${key}`;
  const type = key.slice(prefix.length);
  switch (type) {
    case "DateTime":
      return c.temporal(o[key], path, "dateTime");
    case "Instant":
      return c.temporal(o[key], path, "instant");
    case "Period":
      return c.period(o[key], path).start;
    case "String":
      c.string(o[key], path);
      return undefined;
    case "Boolean":
      c.boolean(o[key], path);
      return undefined;
    default:
      c.object(o[key], path);
      return undefined;
  }
}
