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

/**
 * Walks a parsed resource without recursion (so no depth of nesting can overflow the stack),
 * enforcing the depth, string length and resource size limits, and collects its references.
 * `base` is the path of the resource; paths are built only for what is reported. The walk keeps
 * one frame per open object or array (never one per value), so it allocates little.
 */
export function scanResource(
  resource: unknown,
  base: string,
  limits: IngestLimits,
  fail: (path: string, limit: FhirLimitName, max: number) => never,
): ScanResult {
  const references: FoundReference[] = [];
  // The open containers: the value, its member names (undefined for an array), the next index.
  const values: unknown[] = [];
  const names: (string[] | undefined)[] = [];
  const next: number[] = [];
  const maxString = limits.maxStringLength;
  const maxBytes = limits.maxResourceBytes;
  let bytes = 0;
  /** The path of the child last taken from each open container, then `extra`. */
  const pathOf = (depth: number, extra?: string | number): string => {
    let path = base;
    for (let d = 0; d < depth; d++) {
      const keys = names[d];
      const index = next[d] - 1;
      path += keys === undefined ? `[${index}]` : `.${keys[index]}`;
    }
    if (extra !== undefined) path += typeof extra === "number" ? `[${extra}]` : `.${extra}`;
    return path;
  };
  /** Opens a container at `depth` (0 for the resource), or accounts for a primitive. */
  const visit = (value: unknown, depth: number): void => {
    if (typeof value === "string") {
      if (value.length > maxString) fail(pathOf(depth), "maxStringLength", maxString);
      bytes += value.length + 2;
    } else if (typeof value !== "object" || value === null) {
      bytes += 8;
    } else {
      if (depth + 1 > limits.maxDepth) fail(pathOf(depth), "maxDepth", limits.maxDepth);
      bytes += 2;
      let keys: string[] | undefined;
      if (Array.isArray(value)) {
        bytes += value.length;
      } else {
        keys = Object.keys(value);
        for (const key of keys) {
          if (key.length > maxString) fail(pathOf(depth), "maxStringLength", maxString);
          bytes += key.length + 4;
        }
        const reference = (value as Record<string, unknown>).reference;
        if (Object.hasOwn(value, "reference") && (typeof reference !== "object" || reference === null)) {
          references.push({ value: value as Record<string, unknown>, path: pathOf(depth) });
        }
      }
      values[depth] = value;
      names[depth] = keys;
      next[depth] = 0;
      open = depth + 1;
    }
    if (bytes > maxBytes) fail(pathOf(depth), "maxResourceBytes", maxBytes);
  };
  let open = 0;
  visit(resource, 0);
  while (open > 0) {
    const d = open - 1;
    const value = values[d];
    const keys = names[d];
    const index = next[d];
    const length = keys === undefined ? (value as unknown[]).length : keys.length;
    if (index >= length) {
      values[d] = undefined;
      open = d;
      continue;
    }
    next[d] = index + 1;
    const child = keys === undefined ? (value as unknown[])[index] : (value as Record<string, unknown>)[keys[index]];
    visit(child, open);
  }
  return { bytes, references };
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
