import { expect } from "chai";
import fc from "fast-check";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { keccak256, toUtf8Bytes } from "ethers";
import { canonicalHash, canonicalJson, keccakUtf8 } from "../../../src/twin/canonical";

/** canonicalHash as it was before the native keccak: noble's keccak over the UTF-8 canonical JSON. */
function canonicalHashBefore(value: unknown): string {
  return `0x${bytesToHex(keccak_256(new TextEncoder().encode(canonicalJson(value))))}`;
}

/** JSON-like values with any text (lone surrogates included), numbers with fractions, nesting and undefined members. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: "binary" }), // lone surrogates too: JSON.stringify escapes them
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e20, max: 1e20 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof(
    { depthSize: "small" },
    tie("leaf"),
    fc.array(tie("node"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "grapheme", maxLength: 8 }), fc.option(tie("node"), { nil: undefined }), {
      maxKeys: 5,
    }),
  ),
})).node;

describe("twin/canonical: canonicalHash on the native keccak", () => {
  it("property: canonicalHash is what it was (noble) and ethers' keccak256 of the UTF-8 text, for any value", () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = canonicalJson(v);
        const hash = canonicalHash(v);
        expect(hash).to.equal(canonicalHashBefore(v));
        expect(hash).to.equal(keccak256(toUtf8Bytes(text)));
        expect(keccakUtf8(text)).to.equal(hash);
      }),
      { numRuns: 500 },
    );
  });

  it("the gateway's small params hash as before (latest-vitals' empty object, a window, a long text)", () => {
    for (const params of [
      {},
      { sign: "heart-rate", from: 1_780_000_000_000, to: 1_780_086_400_000 },
      { q: "é".repeat(300) },
    ]) {
      expect(canonicalHash(params)).to.equal(canonicalHashBefore(params));
    }
    expect(canonicalHash({})).to.equal("0xb48d38f93eaa084033fc5970bf96e559c33c4cdc07d889ab00b4d63f9590739d");
  });
});
