import { Readable } from "stream";
import { createInterface } from "readline";
import type { Json } from "./check";
import { FhirLimitError, FhirValidationError } from "./errors";
import { Accumulator, type IngestOptions } from "./ingest";
import { jsonNestingExceeds, resolveLimits, type IngestLimits } from "./limits";
import type { IngestResult } from "./records";
import { R4_RESOURCE_TYPES } from "./resource-types";
import type { JsonSource } from "./stream";

/**
 * NDJSON (FHIR bulk data `$export`, PHR apps): one resource a line, blank lines ignored. The
 * whole file is one input (one patient: a Patient line, or `IngestOptions.patient`), and every
 * error names its line. By default a bad line refuses the file (all-or-nothing, like a Bundle);
 * with `invalidLines: "skip"` the good lines are ingested and each bad one is reported in
 * `rejected` with its line, path and reason (never its content).
 */

export interface NdjsonOptions extends IngestOptions {
  /** `refuse` (default): the first bad line refuses the file; `skip`: bad lines are reported and left out. */
  readonly invalidLines?: "refuse" | "skip";
}

/** A line left out under `invalidLines: "skip"`. */
export interface RejectedLine {
  readonly line: number;
  readonly path: string;
  readonly reason: string;
}

export interface NdjsonIngestResult extends IngestResult {
  /** Lines left out (only under `invalidLines: "skip"`). */
  readonly rejected?: readonly RejectedLine[];
}

/** Ingests NDJSON text. */
export function ingestNdjson(text: string, options: NdjsonOptions = {}): NdjsonIngestResult {
  const limits = resolveLimits(options.limits);
  if (text.length > limits.maxInputBytes)
    throw new FhirLimitError("$", undefined, "maxInputBytes", limits.maxInputBytes);
  const reader = new LineIngest(options, limits);
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    reader.line(text.slice(start, end), ++line);
    start = end + 1;
  }
  return reader.result();
}

/** Ingests NDJSON from a stream, a line at a time (the file is never held whole). */
export async function ingestNdjsonStream(source: JsonSource, options: NdjsonOptions = {}): Promise<NdjsonIngestResult> {
  const limits = resolveLimits(options.limits);
  const input = source instanceof Readable ? source : Readable.from(source as AsyncIterable<string | Uint8Array>);
  const reader = new LineIngest(options, limits);
  let bytes = 0;
  let line = 0;
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      bytes += text.length + 1;
      if (bytes > limits.maxInputBytes) throw new FhirLimitError("$", undefined, "maxInputBytes", limits.maxInputBytes);
      reader.line(text, ++line);
    }
  } finally {
    lines.close();
    input.destroy();
  }
  return reader.result();
}

class LineIngest {
  private readonly acc: Accumulator;
  private readonly rejected: RejectedLine[] = [];
  private readonly skip: boolean;

  constructor(
    private readonly options: NdjsonOptions,
    private readonly limits: IngestLimits,
  ) {
    this.acc = new Accumulator(options, "strict", { owned: true });
    this.skip = options.invalidLines === "skip";
  }

  line(raw: string, line: number): void {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() === "") return;
    try {
      const resource = this.parse(text, line);
      const base = baseOf(resource);
      // Under `skip`, a line is checked on its own first, so a bad one leaves no trace in the result.
      if (this.skip)
        new Accumulator(this.options, "lenient", { skipPatientCheck: true }).add(resource, base, { where: { line } });
      this.acc.add(resource, base, { where: { line } });
    } catch (error) {
      if (!this.skip || !(error instanceof FhirValidationError)) throw error;
      this.rejected.push({ line, path: error.path, reason: error.reason });
    }
  }

  private parse(text: string, line: number): unknown {
    if (text.length > this.limits.maxResourceBytes) {
      throw new FhirLimitError("$", undefined, "maxResourceBytes", this.limits.maxResourceBytes, undefined, { line });
    }
    if (jsonNestingExceeds(text, this.limits.maxDepth)) {
      throw new FhirLimitError("$", undefined, "maxDepth", this.limits.maxDepth, undefined, { line });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FhirValidationError("$", undefined, "not well-formed JSON", undefined, { line });
    }
  }

  result(): NdjsonIngestResult {
    const result = this.acc.result();
    return this.rejected.length > 0 ? { ...result, rejected: this.rejected } : result;
  }
}

function baseOf(resource: unknown): string {
  const type = typeof resource === "object" && resource !== null ? (resource as Json).resourceType : undefined;
  return typeof type === "string" && R4_RESOURCE_TYPES.has(type) ? type : "Resource";
}
