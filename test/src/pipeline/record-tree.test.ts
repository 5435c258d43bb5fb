import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hexlify } from "ethers";
import { proveAllRecords, RECORD_LEAF_ENCODING } from "../../../src/chain/anchors";
import { recordTreeOf, type RecordToAnchor } from "../../../src/pipeline";
import { cidOf } from "../../../src/store";
import { DataCategory } from "../../../src/vocabulary";

describe("pipeline/record tree: the fast build is the library's tree", function () {
  for (const count of [1, 2, 3, 7, 64, 301]) {
    it(`gives the same root, leaf order and proofs as StandardMerkleTree.of for ${count} records`, () => {
      const categories = [DataCategory.VITALS, DataCategory.CONDITIONS, DataCategory.MEDICATIONS];
      const records: RecordToAnchor[] = Array.from({ length: count }, (_, i) => ({
        category: categories[i % categories.length],
        contentHash: hexlify(randomBytes(32)),
        cid: cidOf(randomBytes(40)),
      }));
      const fast = recordTreeOf(records);
      const values = records.map((_, i) => fast.at(i) as [string, string, string]);
      const reference = StandardMerkleTree.of(values, [...RECORD_LEAF_ENCODING]);
      expect(fast.root).to.equal(reference.root);
      expect(fast.dump()).to.deep.equal(reference.dump());
      const proofs = proveAllRecords(fast);
      values.forEach((_, i) => expect(proofs[i]).to.deep.equal(reference.getProof(i)));
      fast.validate(); // the library's own consistency check
    });
  }

  it("builds a batch's tree once, and again when the batch's records are not the same objects", () => {
    const records: RecordToAnchor[] = Array.from({ length: 5 }, () => ({
      category: DataCategory.VITALS,
      contentHash: hexlify(randomBytes(32)),
      cid: cidOf(randomBytes(40)),
    }));
    const first = recordTreeOf(records);
    expect(recordTreeOf(records)).to.equal(first); // the journal's tree is the anchor's
    const copy = [...records];
    expect(recordTreeOf(copy).dump()).to.deep.equal(first.dump());
    records[2] = { ...records[2], contentHash: hexlify(randomBytes(32)) }; // not done by the pipeline, but safe
    const changed = recordTreeOf(records);
    expect(changed.root).to.not.equal(first.root);
    expect(changed.dump()).to.deep.equal(recordTreeOf([...records]).dump());
    records.pop();
    expect(recordTreeOf(records).length).to.equal(4);
  });
});
