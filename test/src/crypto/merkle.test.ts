import { expect } from "chai";
import fc from "fast-check";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, getBytes, hexlify } from "ethers";
import { processProof } from "@openzeppelin/merkle-tree/dist/core";
import { processStandardProof, standardLeafHash, standardMerkleTreeOf } from "../../../src/crypto/merkle";

const coder = AbiCoder.defaultAbiCoder();

/** The fast tree of `values` with leaves hashed from ethers' ABI encoding, and the library's own tree. */
function bothTrees<V extends unknown[]>(values: V[], encoding: string[]) {
  const hashes = values.map((value) => standardLeafHash(getBytes(coder.encode(encoding, value))));
  return { fast: standardMerkleTreeOf(values, encoding, hashes), reference: StandardMerkleTree.of(values, encoding) };
}

function expectSameTree<V extends unknown[]>(fast: StandardMerkleTree<V>, reference: StandardMerkleTree<V>): void {
  expect(fast.root).to.equal(reference.root);
  expect(fast.dump()).to.deep.equal(reference.dump());
  for (let i = 0; i < reference.length; i++) expect(fast.getProof(i)).to.deep.equal(reference.getProof(i));
  // by value: the lookup the fast tree builds on first use is the library's
  for (const [i, value] of reference.entries()) {
    expect(fast.leafLookup(value)).to.equal(reference.leafLookup(value)).and.to.equal(i);
    expect(fast.getProof(value)).to.deep.equal(reference.getProof(value));
  }
  fast.validate(); // the library's own check: every leaf re-hashed from its value, every node from its children
}

describe("crypto/merkle: StandardMerkleTree from leaf hashes", function () {
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));

  it("is the library's tree for (bytes32) leaves of any count (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(bytes32, { minLength: 1, maxLength: 70 }), (hashes) => {
        const { fast, reference } = bothTrees(
          hashes.map((hash): [string] => [hash]),
          ["bytes32"],
        );
        expectSameTree(fast, reference);
      }),
      { numRuns: 30 },
    );
  });

  it("is the library's tree for (uint32, bytes32, bytes32) leaves, repeated values included (property)", () => {
    const leaf = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }).map(String), bytes32, bytes32);
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 1, maxLength: 40 }), fc.nat(), (leaves, seed) => {
        // a repeated value gives two equal leaf hashes: the library keeps them in value order, so must the fast build
        const values = leaves.length > 1 ? [...leaves, leaves[seed % leaves.length]] : leaves;
        const { fast, reference } = bothTrees(values, ["uint32", "bytes32", "bytes32"]);
        expect(fast.root).to.equal(reference.root);
        expect(fast.dump()).to.deep.equal(reference.dump());
      }),
      { numRuns: 30 },
    );
  });

  it("is the library's tree at a larger size (1,000 leaves)", () => {
    const values = Array.from({ length: 1000 }, (_, i): [string] => [
      hexlify(standardLeafHash(Uint8Array.of(i & 255, i >> 8))),
    ]);
    const { fast, reference } = bothTrees(values, ["bytes32"]);
    expect(fast.root).to.equal(reference.root);
    expect(fast.dump()).to.deep.equal(reference.dump());
  });

  it("onRepeat is called with the first value that repeats an earlier one, as a scan finds it (property)", () => {
    const few = fc.constantFrom(...["11", "22", "33", "44", "55"].map((b) => "0x" + b.repeat(32)));
    fc.assert(
      fc.property(fc.array(few, { minLength: 1, maxLength: 12 }), (hashes) => {
        const values = hashes.map((hash): [string] => [hash]);
        const leafHashes = values.map(([hash]) => standardLeafHash(getBytes(hash)));
        const expected = hashes.findIndex((hash, i) => hashes.indexOf(hash) < i);
        let called = -1;
        const build = () =>
          standardMerkleTreeOf(values, ["bytes32"], leafHashes, {
            onRepeat: (index) => {
              called = index;
              throw new Error("repeat");
            },
          });
        if (expected < 0) expectSameTree(build(), StandardMerkleTree.of(values, ["bytes32"]));
        else expect(build).to.throw("repeat");
        expect(called).to.equal(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses no leaves and hashes that do not fit the values", () => {
    expect(() => standardMerkleTreeOf([], ["bytes32"], [])).to.throw(RangeError);
    expect(() => standardMerkleTreeOf([["0x" + "11".repeat(32)]], ["bytes32"], [new Uint8Array(31)])).to.throw(
      RangeError,
    );
    expect(() => standardMerkleTreeOf([["0x" + "11".repeat(32)]], ["bytes32"], [])).to.throw(RangeError);
  });

  describe("processStandardProof", () => {
    it("is the library's processProof for any leaf and any nodes, true proofs or not (property)", () => {
      const node = fc.uint8Array({ minLength: 32, maxLength: 32 });
      fc.assert(
        fc.property(node, fc.array(node, { maxLength: 20 }), (leaf, proof) => {
          const reference = processProof(
            hexlify(leaf),
            proof.map((n) => hexlify(n)),
          );
          expect(hexlify(processStandardProof(leaf, proof))).to.equal(reference);
        }),
        { numRuns: 300 },
      );
    });

    it("leads every leaf of a built tree to its root", () => {
      const values = Array.from({ length: 37 }, (_, i): [string] => [
        hexlify(Uint8Array.from({ length: 32 }, () => i)),
      ]);
      const { fast } = bothTrees(values, ["bytes32"]);
      for (let i = 0; i < values.length; i++) {
        const leaf = getBytes(fast.leafHash(values[i]));
        expect(
          hexlify(
            processStandardProof(
              leaf,
              fast.getProof(i).map((n) => getBytes(n)),
            ),
          ),
        ).to.equal(fast.root);
      }
    });

    it("refuses a leaf or a node that is not 32 bytes", () => {
      expect(() => processStandardProof(new Uint8Array(31), [])).to.throw(RangeError);
      expect(() => processStandardProof(new Uint8Array(32), [new Uint8Array(33)])).to.throw(RangeError);
    });
  });
});
