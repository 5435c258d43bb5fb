import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, hexlify, randomBytes } from "ethers";
import {
  ACCESS_LOG_LEAF_ENCODING,
  abiLeafHashOf,
  leafHashOf,
  type AccessLogLeaf,
} from "../../../src/service/access-log";
import { prepareLeaf } from "../../../src/service/access-log-leaf";

/** A small deterministic generator (xorshift32), so a failure names a reproducible case. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const STRINGS = [
  "",
  "a",
  "latest-vitals",
  "fhir-export",
  "allowed",
  "no-consent",
  "x".repeat(31),
  "y".repeat(32),
  "z".repeat(33),
  "é✓ unicode",
  "q".repeat(100),
];

function randomLeaf(rand: () => number): AccessLogLeaf {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const uint = (bits: number) => {
    const edge = [0n, 1n, (1n << BigInt(bits)) - 1n, BigInt(Math.floor(rand() * 2 ** Math.min(bits, 52)))];
    return String(pick(edge));
  };
  const address = hexlify(randomBytes(20));
  return [
    String(Math.floor(rand() * 2 ** 40)),
    uint(64),
    hexlify(randomBytes(32)),
    rand() < 0.5 ? getAddress(address) : address,
    pick(STRINGS),
    uint(32),
    uint(16),
    pick(STRINGS),
    hexlify(randomBytes(32)),
  ];
}

describe("service/access-log-leaf: the leaf hash on bytes", () => {
  it("equals ethers' AbiCoder and StandardMerkleTree's leaf hash on random leaves", () => {
    const rand = generator(20240101);
    for (let i = 0; i < 400; i++) {
      const leaf = randomLeaf(rand);
      const expected = abiLeafHashOf(leaf);
      expect(leafHashOf(leaf), JSON.stringify(leaf)).to.equal(expected);
      const prepared = prepareLeaf(leaf);
      expect(prepared, JSON.stringify(leaf)).to.not.equal(null);
      expect(prepared!.hashAt(Number(leaf[0]))).to.equal(expected);
    }
    const leaf = randomLeaf(rand);
    const tree = StandardMerkleTree.of([leaf], [...ACCESS_LOG_LEAF_ENCODING]);
    expect(leafHashOf(leaf)).to.equal(tree.leafHash(leaf));
  });

  it("fills in the index alone: one prepared leaf hashes correctly at several indexes", () => {
    const leaf = randomLeaf(generator(7));
    const prepared = prepareLeaf(leaf)!;
    for (const index of [0, 1, 255, 256, 2 ** 32, Number.MAX_SAFE_INTEGER, 3]) {
      const at: AccessLogLeaf = [String(index), ...leaf.slice(1)] as AccessLogLeaf;
      expect(prepared.hashAt(index)).to.equal(abiLeafHashOf(at));
    }
    expect(() => prepared.hashAt(-1)).to.throw(RangeError);
  });

  it("leaves values outside its narrow forms to ethers, which encodes them the same way or throws", () => {
    const leaf = randomLeaf(generator(9));
    const bad = getAddress(leaf[3].toLowerCase()).replace(/[a-f]/, (c) => c.toUpperCase());
    const withBadChecksum: AccessLogLeaf = [...leaf.slice(0, 3), bad, ...leaf.slice(4)] as AccessLogLeaf;
    if (bad !== getAddress(leaf[3].toLowerCase())) {
      expect(prepareLeaf(withBadChecksum)).to.equal(null);
      expect(() => leafHashOf(withBadChecksum)).to.throw();
    }
    const overflow: AccessLogLeaf = [...leaf.slice(0, 6), "65536", ...leaf.slice(7)] as AccessLogLeaf;
    expect(prepareLeaf(overflow)).to.equal(null);
    expect(() => leafHashOf(overflow)).to.throw();
    const padded: AccessLogLeaf = [...leaf.slice(0, 5), "007", ...leaf.slice(6)] as AccessLogLeaf;
    expect(prepareLeaf(padded)).to.equal(null);
    expect(leafHashOf(padded)).to.equal(abiLeafHashOf(padded));
    const bigIndex: AccessLogLeaf = ["18446744073709551615", ...leaf.slice(1)] as AccessLogLeaf;
    expect(leafHashOf(bigIndex)).to.equal(abiLeafHashOf(bigIndex));
  });
});
