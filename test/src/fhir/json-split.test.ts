import { deepStrictEqual } from "assert";
import { expect } from "chai";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import { DEFAULT_LIMITS, FhirLimitError, FhirValidationError, parseFhirJson, parseFhirStream } from "../../../src/fhir";
import { SAMPLES_DIR } from "./helpers";

/** Parses text whole, and streamed as UTF-8 bytes cut every `size` bytes (through multi-byte characters). */
async function bothWays(text: string, size: number): Promise<[unknown, unknown]> {
  const bytes = Buffer.from(text, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return [parseFhirJson(text), await parseFhirStream(size % 2 === 0 ? Readable.from(chunks) : chunks)];
}

/** The outcome of a parse: the value, or that it was refused (a FhirValidationError, or JSON.parse's SyntaxError). */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (error) {
    return { refused: error instanceof FhirValidationError || error instanceof SyntaxError };
  }
}

async function refusedAsync(promise: Promise<unknown>): Promise<FhirValidationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(FhirValidationError);
    return error as FhirValidationError;
  }
  expect.fail("expected a FhirValidationError");
}

/** An endless source; `pulled` says how many chunks were taken from it. */
function endless(head: string, body: string): { source: Iterable<string>; pulled: () => number } {
  let pulled = 0;
  const source = {
    *[Symbol.iterator](): Generator<string> {
      pulled++;
      yield head;
      for (;;) {
        pulled++;
        yield body;
      }
    },
  };
  return { source, pulled: () => pulled };
}

describe("fhir: JSON splitting (the streaming parse)", () => {
  it("gives what JSON.parse gives on every shared sample, whole or streamed in any chunk size", async () => {
    const files = fs.readdirSync(SAMPLES_DIR).filter((f) => f.endsWith(".json"));
    expect(files.length).to.be.greaterThan(10);
    for (const file of files) {
      const text = fs.readFileSync(path.join(SAMPLES_DIR, file), "utf8");
      for (const size of [3, 4096]) {
        if (size === 3 && text.length > 50_000) continue;
        const [whole, streamed] = await bothWays(text, size);
        const expected = JSON.parse(text) as unknown;
        deepStrictEqual(whole, expected, file);
        deepStrictEqual(streamed, expected, `${file} in ${size}-byte chunks`);
      }
    }
  });

  it("agrees with JSON.parse on random JSON, laid out with random whitespace", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.record({ resourceType: fc.constant("Bundle"), entry: fc.array(fc.jsonValue({ maxDepth: 4 })) }),
          fc.array(fc.jsonValue({ maxDepth: 4 })),
        ),
        fc.integer({ min: 1, max: 17 }),
        fc.boolean(),
        async (value, size, pretty) => {
          const text = JSON.stringify(value, null, pretty ? 2 : undefined);
          const [whole, streamed] = await bothWays(text, size);
          deepStrictEqual(whole, JSON.parse(text));
          deepStrictEqual(streamed, JSON.parse(text));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses exactly what JSON.parse refuses (text with one character changed, removed or added)", () => {
    fc.assert(
      fc.property(
        fc.record({
          resourceType: fc.constant("Bundle"),
          entry: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
        }),
        fc.nat(),
        fc.constantFrom("", "{", "}", "[", "]", ",", ":", '"', "\\", " ", "1", "x", "\u2028"),
        fc.boolean(),
        (value, at, ch, replace) => {
          const text = JSON.stringify(value);
          const i = at % (text.length + 1);
          const mutated = text.slice(0, i) + ch + text.slice(replace ? i + 1 : i);
          deepStrictEqual(
            outcome(() => parseFhirJson(mutated)),
            outcome(() => JSON.parse(mutated) as unknown),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses malformed skeletons and keeps JSON.parse's meaning of duplicates and escapes", () => {
    for (const bad of [
      "",
      " ",
      '{"entry":[1,]}',
      '{"entry":[,1]}',
      '{"a":1,}',
      '{"a" 1}',
      '{"a":1 "b":2}',
      "[1 2]",
      '{"entry":[{}]}}',
      '{"entry":[{]}',
      '{"a":1}x',
      '{"entry":[{"a":"\\u00"}]}',
      "{,}",
      '{"entry":[1]',
      "[",
      '"abc',
    ]) {
      const error = (() => {
        try {
          parseFhirJson(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, JSON.stringify(bad)).to.be.instanceOf(FhirValidationError);
      expect((error as FhirValidationError).reason).to.equal("not well-formed JSON");
    }
    for (const good of [
      "[]",
      "{}",
      '"x"',
      "12",
      "null",
      ' {"entry" : [ ] } ',
      '{"entry":5}',
      '{"entry":[1],"entry":[2,3]}',
      '{"entry":[1],"entry":"x"}',
      '{"entry":"x","entry":[1]}',
      '{"entr\\u0079":[1,{"a":"}]\\"{["}]}',
      '{"a":"\\\\","entry":[]}',
    ]) {
      expect(parseFhirJson(good), good).to.deep.equal(JSON.parse(good));
    }
    expect(parseFhirJson('\ufeff{"resourceType":"Patient"}')).to.deep.equal({ resourceType: "Patient" });
  });

  it("names the entry of a malformed entry", () => {
    const error = (() => {
      try {
        parseFhirJson('{"resourceType":"Bundle","entry":[{"resource":{}},{"resource":{"a":tru}}]}');
      } catch (e) {
        return e as FhirValidationError;
      }
      return undefined;
    })()!;
    expect(error.path).to.equal("$.entry[1]");
    expect(error.entryIndex).to.equal(1);
  });

  it("never lets __proto__ or constructor reach a prototype", async () => {
    const text =
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},' +
      '"entry":[{"__proto__":{"polluted":1}},{"resource":{"__proto__":{"polluted":1}}}]}';
    for (const parsed of await bothWays(text, 5)) {
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(Object.getPrototypeOf(parsed)).to.equal(Object.prototype);
      expect(Object.keys(parsed as object)).to.include("__proto__");
      const entries = (parsed as { entry: object[] }).entry;
      expect(Object.getPrototypeOf(entries[0])).to.equal(Object.prototype);
    }
  });

  describe("limits, enforced while reading (an endless input is refused after a few chunks)", () => {
    it("maxEntries", async () => {
      const { source, pulled } = endless('{"resourceType":"Bundle","entry":[{}', ",{}".repeat(100));
      const error = await refusedAsync(parseFhirStream(source, { maxEntries: 1000 }));
      expect((error as FhirLimitError).limit).to.equal("maxEntries");
      expect(error.path).to.equal("$.entry[1000]");
      expect(pulled()).to.be.lessThan(20);
    });

    it("maxStringLength", async () => {
      const { source, pulled } = endless('{"resourceType":"Bundle","entry":[{"resource":{"a":"', "x".repeat(1 << 16));
      const error = await refusedAsync(parseFhirStream(source, { maxStringLength: 1 << 20 }));
      expect((error as FhirLimitError).limit).to.equal("maxStringLength");
      expect(error.entryIndex).to.equal(0);
      expect(pulled()).to.be.lessThan(40);
    });

    it("maxResourceBytes (an entry of endless small members)", async () => {
      const { source, pulled } = endless('{"entry":[{"resource":{"a":[', "1,".repeat(1 << 15));
      const error = await refusedAsync(parseFhirStream(source, { maxResourceBytes: 1 << 20 }));
      expect((error as FhirLimitError).limit).to.equal("maxResourceBytes");
      expect(pulled()).to.be.lessThan(40);
    });

    it("maxResourceBytes also bounds the Bundle's members other than its entries", async () => {
      const { source } = endless('{"resourceType":"Bundle","signature":{"data":[', "1,".repeat(1 << 15));
      const error = await refusedAsync(parseFhirStream(source, { maxResourceBytes: 1 << 20 }));
      expect((error as FhirLimitError).limit).to.equal("maxResourceBytes");
      expect(error.path).to.equal("$.signature");
    });

    it("maxDepth", async () => {
      const { source, pulled } = endless('{"entry":[', "[".repeat(1000));
      const error = await refusedAsync(parseFhirStream(source));
      expect((error as FhirLimitError).limit).to.equal("maxDepth");
      expect(pulled()).to.be.lessThan(3);
      expect(() => parseFhirJson("[".repeat(100_000))).to.throw(FhirLimitError);
    });

    it("maxInputBytes (endless whitespace)", async () => {
      const { source } = endless("{", " ".repeat(1 << 16));
      const error = await refusedAsync(parseFhirStream(source, { maxInputBytes: 1 << 22 }));
      expect((error as FhirLimitError).limit).to.equal("maxInputBytes");
    });

    it("the defaults admit a resource just under maxResourceBytes", () => {
      expect(DEFAULT_LIMITS.maxResourceBytes).to.be.greaterThan(DEFAULT_LIMITS.maxStringLength);
    });

    it("a failing source is a typed refusal", async () => {
      const broken = new Readable({
        read() {
          this.destroy(new Error("connection reset"));
        },
      });
      const error = await refusedAsync(parseFhirStream(broken));
      expect(error.reason).to.contain("stream failed");
    });
  });
});
