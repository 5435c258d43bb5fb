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
/** bytes32 values in forms the fast path must take or hand to ethers: upper and mixed case, `0X`, non-hex digits. */
const bytes32Oddity = fc.oneof(
  hex(32).map((h) => `0x${h.slice(2).toUpperCase()}`),
  hex(32).map((h) => `0x${h.slice(2, 34).toUpperCase()}${h.slice(34)}`),
  hex(32).map((h) => `0X${h.slice(2)}`),
  fc
    .tuple(hex(32), fc.integer({ min: 2, max: 65 }), fc.constantFrom("g", "G", "x", " ", "@", "`", "/", ":", "é"))
    .map(([h, i, c]) => `${h.slice(0, i)}${c}${h.slice(i + 1)}`),
  fc.constant("0xzz"),
);
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
          id: fc.oneof(hex(32), hex(31), bytes32Oddity),
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

  it("checksummed, lower- and upper-case addresses and any-case hex take the fast path (ethers' encoder not asked)", () => {
    const hasher = new FlatStructHasher(TYPES);
    const encoder = TypedDataEncoder.from(TYPES);
    (hasher as unknown as { encoder: { hash: () => never } }).encoder.hash = () => {
      throw new Error("the slow path was taken");
    };
    fc.assert(
      fc.property(hex(20), hex(32), fc.constantFrom("lower", "checksum", "upper"), (a, id, form) => {
        const who = form === "lower" ? a : form === "checksum" ? getAddress(a) : `0x${a.slice(2).toUpperCase()}`;
        const value = { who, label: "x", id: `0x${id.slice(2).toUpperCase()}`, small: 1, mid: 2n, big: 3 };
        expect(hexlify(hasher.hashStruct(value))).to.equal(encoder.hash(value));
      }),
      { numRuns: 200 },
    );
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
