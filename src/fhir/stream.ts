import { Readable } from "stream";
import Parser = require("stream-json/Parser");
import { FhirLimitError, FhirValidationError } from "./errors";
import { ingestBundleWith, ingestResource, type IngestOptions } from "./ingest";
import { resolveLimits, type IngestLimits } from "./limits";
import type { IngestResult } from "./records";

/**
 * Streaming parse of large FHIR JSON (stream-json): the text is never held whole, and the
 * limits are enforced while it is read (input size and depth as tokens arrive, a string's length
 * once the parser has it; the parser packs strings for speed), so an oversized input is refused
 * without parsing the rest. The parsed objects are ingest's own, so records keep them without a
 * copy.
 */

/** What a stream of FHIR JSON may come as: a Node stream, or any (async) iterable of chunks. */
export type JsonSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

interface Token {
  readonly name: string;
  readonly value?: string;
}

/** Parses one JSON value from a stream, enforcing the limits (depth counted from the top). */
export async function parseFhirStream(source: JsonSource, limits: Partial<IngestLimits> = {}): Promise<unknown> {
  const resolved = resolveLimits(limits);
  const input = source instanceof Readable ? source : Readable.from(source as AsyncIterable<string | Uint8Array>);
  const parser = new Parser({
    packKeys: true,
    streamKeys: false,
    packNumbers: true,
    streamNumbers: false,
    packStrings: true,
    streamStrings: false,
  });
  const assembler = new LimitedAssembler(resolved);
  let bytes = 0;
  return new Promise<unknown>((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      input.unpipe(parser);
      input.destroy();
      parser.destroy();
      reject(
        error instanceof FhirValidationError ? error : new FhirValidationError("$", undefined, "not well-formed JSON"),
      );
    };
    input.on("data", (chunk: string | Uint8Array) => {
      bytes += chunk.length;
      if (bytes > resolved.maxInputBytes)
        fail(new FhirLimitError("$", undefined, "maxInputBytes", resolved.maxInputBytes));
    });
    input.on("error", fail);
    parser.on("error", fail);
    parser.on("data", (token: Token) => {
      if (failed) return;
      try {
        assembler.consume(token);
      } catch (error) {
        fail(error);
      }
    });
    parser.on("end", () => {
      if (failed) return;
      if (!assembler.done) fail(new FhirValidationError("$", undefined, "not well-formed JSON"));
      else resolve(assembler.value);
    });
    input.pipe(parser);
  });
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

interface Open {
  readonly container: Record<string, unknown> | unknown[];
  key?: string;
}

/** Builds the value from tokens; enforces depth, string length and the Bundle's entry count. */
class LimitedAssembler {
  private readonly stack: Open[] = [];
  private string: string[] | undefined;
  private stringLength = 0;
  value: unknown = undefined;
  done = false;

  constructor(private readonly limits: IngestLimits) {}

  consume(token: Token): void {
    switch (token.name) {
      case "startObject":
        this.open({});
        return;
      case "startArray":
        this.open([]);
        return;
      case "endObject":
      case "endArray": {
        const closed = this.stack.pop()!;
        this.put(closed.container);
        return;
      }
      case "keyValue":
        this.checkLength(token.value!.length);
        this.stack[this.stack.length - 1].key = token.value;
        return;
      case "stringValue":
        this.checkLength(token.value!.length);
        this.put(token.value);
        return;
      case "startString":
        this.string = [];
        this.stringLength = 0;
        return;
      case "stringChunk":
        this.stringLength += token.value!.length;
        this.checkLength(this.stringLength);
        this.string!.push(token.value!);
        return;
      case "endString": {
        const text = this.string!.join("");
        this.string = undefined;
        this.put(text);
        return;
      }
      case "numberValue":
        this.put(Number(token.value));
        return;
      case "nullValue":
        this.put(null);
        return;
      case "trueValue":
        this.put(true);
        return;
      case "falseValue":
        this.put(false);
        return;
      default:
        return; // startKey/endKey/startNumber/... are not emitted with these options
    }
  }

  private open(container: Record<string, unknown> | unknown[]): void {
    // A Bundle entry's resource sits 3 levels below the Bundle: allow that much on top of maxDepth.
    if (this.stack.length + 1 > this.limits.maxDepth + 3) {
      throw new FhirLimitError(this.where(), undefined, "maxDepth", this.limits.maxDepth);
    }
    this.stack.push({ container });
  }

  private put(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.value = value;
      this.done = true;
      return;
    }
    if (Array.isArray(top.container)) {
      top.container.push(value);
      if (this.stack.length === 2 && top.container.length > this.limits.maxEntries) {
        throw new FhirLimitError(this.where(), undefined, "maxEntries", this.limits.maxEntries);
      }
    } else {
      const key = top.key!;
      // JSON.parse semantics (last duplicate wins), without letting `__proto__` reach a prototype.
      Object.defineProperty(top.container, key, { value, enumerable: true, writable: true, configurable: true });
      top.key = undefined;
    }
  }

  private checkLength(length: number): void {
    if (length > this.limits.maxStringLength) {
      throw new FhirLimitError(this.where(), undefined, "maxStringLength", this.limits.maxStringLength);
    }
  }

  /** A path of the open containers, e.g. `$.entry[3].resource.code`. */
  private where(): string {
    let path = "$";
    for (const open of this.stack) {
      if (Array.isArray(open.container)) path += `[${open.container.length}]`;
      else if (open.key !== undefined) path += `.${open.key}`;
    }
    return path;
  }
}
