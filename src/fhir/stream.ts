import { StringDecoder } from "string_decoder";
import { FhirLimitError, FhirValidationError } from "./errors";
import { ingestBundleWith, ingestResource, type IngestOptions } from "./ingest";
import { JsonSplitter } from "./json-split";
import { resolveLimits } from "./limits";
import type { IngestLimits } from "./limits";
import type { IngestResult } from "./records";

/**
 * Streaming parse of large FHIR JSON: the text is read a chunk at a time and never held whole.
 * A small tokenizer (json-split.ts) cuts it at the Bundle's entries and `JSON.parse` parses each
 * entry alone, so the limits are enforced while the text is read (input size per chunk; depth,
 * string length, entry size and entry count as the tokenizer meets them) and an oversized input
 * is refused without reading the rest. The parsed objects are ingest's own, so records keep them
 * without a copy.
 */

/**
 * What a stream of FHIR JSON may come as: a Node stream, any (async) iterable of chunks (strings
 * or bytes, UTF-8), or the whole text or bytes at once.
 */
export type JsonSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> | string | Uint8Array;

/** Parses one JSON value from a stream, enforcing the limits (depth counted from the top). */
export async function parseFhirStream(source: JsonSource, limits: Partial<IngestLimits> = {}): Promise<unknown> {
  const resolved = resolveLimits(limits);
  const splitter = new JsonSplitter(resolved);
  const decoder = new StringDecoder("utf8");
  let bytes = 0;
  const feed = (chunk: unknown): void => {
    if (typeof chunk === "string") {
      bytes += chunk.length;
      if (bytes > resolved.maxInputBytes)
        throw new FhirLimitError("$", undefined, "maxInputBytes", resolved.maxInputBytes);
      splitter.write(chunk);
    } else if (chunk instanceof Uint8Array) {
      bytes += chunk.byteLength;
      if (bytes > resolved.maxInputBytes)
        throw new FhirLimitError("$", undefined, "maxInputBytes", resolved.maxInputBytes);
      splitter.write(
        decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
      );
    } else {
      throw new FhirValidationError("$", undefined, "expected JSON text as strings or bytes");
    }
  };
  if (typeof source === "string" || source instanceof Uint8Array) {
    feed(source);
  } else {
    try {
      // Leaving the loop by a throw closes the source (a Readable is destroyed).
      for await (const chunk of source as AsyncIterable<unknown>) feed(chunk);
    } catch (error) {
      if (error instanceof FhirValidationError) throw error;
      // A failure of the source itself (a reset connection): no detail of it is kept.
      throw new FhirValidationError("$", undefined, "the input stream failed before its end");
    }
  }
  splitter.write(decoder.end());
  return splitter.end();
}

/**
 * Ingests FHIR JSON (a Bundle or a single resource) from a stream: a streaming parse with the
 * limits, then the same checks as `ingest`.
 */
export async function ingestStream(source: JsonSource, options: IngestOptions = {}): Promise<IngestResult> {
  const parsed = await parseFhirStream(source, options.limits);
  const type =
    typeof parsed === "object" && parsed !== null ? (parsed as { resourceType?: unknown }).resourceType : undefined;
  return type === "Bundle" ? ingestBundleWith(parsed, options, { owned: true }) : ingestResource(parsed, options);
}
