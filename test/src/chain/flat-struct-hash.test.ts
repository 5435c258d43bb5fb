import { expect } from "chai";
import fc from "fast-check";
import { TypedDataEncoder, getAddress, hexlify, type TypedDataField } from "ethers";
import { FlatStructHasher } from "../../../src/chain/flat-struct-hash";
import { ACCESS_LOG_REQUEST_TYPES, QUERY_TYPES } from "../../../src/chain/typed-data";

const TYPES: Record<string, TypedDataField[]> = {
  Flat: [
    { name: "who", type: "address" },
    { name: "label", type: "string" },
    { name: "id", type: "bytes32" },
    { name: "small", type: "uint8" },
    { name: "mid", type: "uint64" },
    { name: "big", type: "uint256" },
  ],
};

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));
/** Addresses in every form ethers accepts or refuses: lower case, checksummed, upper case, broken checksum. */
const address = fc.tuple(hex(20), fc.constantFrom("lower", "checksum", "upper", "flipped")).map(([a, form]) => {
  if (form === "lower") return a;
  const checksummed = getAddress(a);
  if (form === "checksum") return checksummed;
  if (form === "upper") return `0x${a.slice(2).toUpperCase()}`;
  const i = checksummed.slice(2).search(/[a-fA-F]/);
  if (i < 0) return checksummed;
  const c = checksummed[i + 2];
  const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return `${checksummed.slice(0, i + 2)}${flipped}${checksummed.slice(i + 3)}`;
});
/** Integers as numbers, bigints and strings, in and out of range, negative, fractional. */
const uint = (bits: number) =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
    fc.bigInt({ min: -5n, max: (1n << BigInt(bits)) + 5n }),
    fc.integer({ min: -5, max: Number.MAX_SAFE_INTEGER }),
    fc.double(),
    fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }).map(String),
  );

function outcome(run: () => string): { ok: true; value: string } | { ok: false } {
  try {
    return { ok: true, value: run() };
  } catch {
    return { ok: false };
  }
}

describe("chain/flat-struct-hash: FlatStructHasher", () => {
  it("property: hashStruct equals TypedDataEncoder's hash, or both refuse the value", () => {
    const hasher = new FlatStructHasher(TYPES);
    const encoder = TypedDataEncoder.from(TYPES);
    fc.assert(
      fc.property(
        fc.record({
          who: address,
          label: fc.string({ maxLength: 40, unit: "grapheme" }),
          id: fc.oneof(hex(32), hex(31), fc.constant("0xzz")),
          small: uint(8),
          mid: uint(64),
          big: uint(256),
        }),
        (value) => {
          const fast = outcome(() => hexlify(hasher.hashStruct(value)));
          const reference = outcome(() => encoder.hash(value));
          expect(fast).to.deep.equal(reference);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("the gateway's Query and AccessLogRequest types take the fast path (no field type left to ethers)", () => {
    for (const types of [QUERY_TYPES, ACCESS_LOG_REQUEST_TYPES]) {
      const hasher = new FlatStructHasher(types);
      expect((hasher as unknown as { fields: unknown }).fields).to.not.equal(null);
    }
  });

  it("a struct with a type outside the fast path (bool, bytes, nested) is hashed by ethers' encoder", () => {
    const types = {
      Mixed: [
        { name: "flag", type: "bool" },
        { name: "data", type: "bytes" },
      ],
    };
    const value = { flag: true, data: "0x0102" };
    expect(hexlify(new FlatStructHasher(types).hashStruct(value))).to.equal(TypedDataEncoder.from(types).hash(value));
  });
});
