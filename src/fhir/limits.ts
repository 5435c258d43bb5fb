import { FhirLimitError, type FhirLimitName } from "./errors";

/**
 * Limits on FHIR input, each refused with a FhirLimitError naming the limit and the path. The
 * defaults admit every real export we know of (a 6 MB PDF as base64 in a DocumentReference, a
 * Synthea life history of 100,000 entries) and refuse what only an attacker sends.
 */
export interface IngestLimits {
  /** Deepest nesting of objects and arrays inside one resource (the resource itself is depth 1). */
  readonly maxDepth: number;
  /** Longest string value or key, in UTF-16 code units. */
  readonly maxStringLength: number;
  /** Largest resource, in (approximate, for parsed input) bytes of JSON. */
  readonly maxResourceBytes: number;
  /** Largest input (a Bundle, an NDJSON file, a stream), in bytes of JSON text. */
  readonly maxInputBytes: number;
  /** Most entries in a Bundle, or lines in NDJSON. */
  readonly maxEntries: number;
}

export const DEFAULT_LIMITS: IngestLimits = Object.freeze({
  maxDepth: 64,
  maxStringLength: 8 * 1024 * 1024,
  maxResourceBytes: 16 * 1024 * 1024,
  maxInputBytes: 256 * 1024 * 1024,
  maxEntries: 200_000,
});

/** The defaults with the given overrides (each a positive integer). */
export function resolveLimits(overrides: Partial<IngestLimits> = {}): IngestLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`ingest limit ${name} must be a positive integer`);
    }
  }
  return limits;
}

/** A Reference-like object found in a resource (an object with a primitive `reference` member). */
export interface FoundReference {
  readonly value: Record<string, unknown>;
  readonly path: string;
}

/** What a scan of one resource found. */
export interface ScanResult {
  /** Approximate size in bytes of the resource's JSON. */
  readonly bytes: number;
  /** Every object with a primitive `reference` member, with its path. */
  readonly references: FoundReference[];
}

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  /** Index of the parent frame in `nodes`, or -1 for the root. */
  readonly parent: number;
  /** Key in the parent: a member name or an array index. */
  readonly key: string | number;
}

/**
 * Walks a parsed resource without recursion (so no depth of nesting can overflow the stack),
 * enforcing the depth, string length and resource size limits, and collects its references.
 * `base` is the path of the resource; paths are built only for what is reported.
 */
export function scanResource(
  resource: unknown,
  base: string,
  limits: IngestLimits,
  fail: (path: string, limit: FhirLimitName, max: number) => never,
): ScanResult {
  const nodes: Frame[] = [];
  const stack: number[] = [];
  const references: { value: Record<string, unknown>; node: number }[] = [];
  let bytes = 0;
  nodes.push({ value: resource, depth: 1, parent: -1, key: "" });
  stack.push(0);
  const pathOf = (index: number): string => {
    const keys: (string | number)[] = [];
    for (let i = index; i > 0; i = nodes[i].parent) keys.push(nodes[i].key);
    let path = base;
    for (let k = keys.length - 1; k >= 0; k--) {
      const key = keys[k];
      path += typeof key === "number" ? `[${key}]` : `.${key}`;
    }
    return path;
  };
  while (stack.length > 0) {
    const index = stack.pop()!;
    const { value, depth } = nodes[index];
    if (typeof value === "string") {
      if (value.length > limits.maxStringLength) fail(pathOf(index), "maxStringLength", limits.maxStringLength);
      bytes += value.length + 2;
    } else if (typeof value !== "object" || value === null) {
      bytes += 8;
    } else {
      if (depth > limits.maxDepth) fail(pathOf(index), "maxDepth", limits.maxDepth);
      bytes += 2;
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          nodes.push({ value: value[i], depth: depth + 1, parent: index, key: i });
          stack.push(nodes.length - 1);
          bytes += 1;
        }
      } else {
        const o = value as Record<string, unknown>;
        const keys = Object.keys(o);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i];
          if (key.length > limits.maxStringLength) fail(pathOf(index), "maxStringLength", limits.maxStringLength);
          bytes += key.length + 4;
          const inner = o[key];
          if (key === "reference" && (typeof inner !== "object" || inner === null)) {
            references.push({ value: o, node: index });
          }
          nodes.push({ value: inner, depth: depth + 1, parent: index, key });
          stack.push(nodes.length - 1);
        }
      }
    }
    if (bytes > limits.maxResourceBytes) fail(pathOf(index), "maxResourceBytes", limits.maxResourceBytes);
  }
  // Document order (the stack pops members in order, so references were found in order).
  return { bytes, references: references.map((r) => ({ value: r.value, path: pathOf(r.node) })) };
}

/** Refuses JSON text longer than `maxInputBytes` (UTF-16 length is a lower bound of UTF-8 bytes). */
export function checkInputSize(text: string, limits: IngestLimits, path = "$"): void {
  if (text.length > limits.maxInputBytes) {
    throw new FhirLimitError(path, undefined, "maxInputBytes", limits.maxInputBytes);
  }
}

/**
 * The deepest nesting of `[` and `{` in JSON text (strings skipped), stopping early past
 * `maxNesting`: a linear scan that lets text be refused for depth before `JSON.parse` meets it.
 */
export function jsonNestingExceeds(text: string, maxNesting: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > maxNesting) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}
