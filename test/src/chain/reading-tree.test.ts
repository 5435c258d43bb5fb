import { expect } from "chai";
import { randomBytes, randomInt } from "node:crypto";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hexlify } from "ethers";
import {
  AnchorError,
  buildReadingTree,
  proveReading,
  proveReadingAt,
  READING_LEAF_ENCODING,
  verifyReadingProof,
} from "../../../src/chain/anchors";

describe("chain/reading tree: the fast build is the library's tree", function () {
  for (const count of [1, 2, 3, 8, 84, 301]) {
    it(`gives the same tree and proofs as StandardMerkleTree.of for ${count} readings`, () => {
      const readings = Array.from({ length: count }, (_, i) => ({
        readingHash: hexlify(randomBytes(32)),
        timestamp: i % 5 === 0 ? 2 ** 40 - 1 - i : randomInt(0, 2 ** 40),
      }));
      const fast = buildReadingTree(readings);
      const values = readings.map((_, i) => fast.at(i) as [string, string]);
      const reference = StandardMerkleTree.of(values, [...READING_LEAF_ENCODING]);
      expect(fast.dump()).to.deep.equal(reference.dump());
      readings.forEach((reading, i) => {
        const proof = proveReadingAt(fast, i);
        expect(proof).to.deep.equal(reference.getProof(i));
        expect(proof).to.deep.equal(proveReading(fast, reading.readingHash, reading.timestamp));
        expect(verifyReadingProof(fast.root, reading.readingHash, reading.timestamp, proof)).to.equal(true);
      });
      fast.validate(); // the library's own consistency check
    });
  }

  it("refuses a reading index the tree does not have", () => {
    const tree = buildReadingTree([{ readingHash: hexlify(randomBytes(32)), timestamp: 1 }]);
    for (const index of [-1, 1, 0.5]) {
      expect(() => proveReadingAt(tree, index))
        .to.throw(AnchorError)
        .with.property("code", "ANCHOR_READING_NOT_FOUND");
    }
  });
});
