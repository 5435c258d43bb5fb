import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers } from "ethers";
import fc from "fast-check";
import { commitContributors, CONTRIBUTOR_LEAF_ENCODING, verifyContributor } from "../../../src/research";

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b));

describe("research: contributor commitment", function () {
  it("gives OpenZeppelin StandardMerkleTree's root and proofs (differential, random contributor sets)", function () {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ twinId: bytes32, stateRoot: bytes32 }), {
          minLength: 1,
          maxLength: 40,
          selector: (c) => c.twinId,
        }),
        (contributors) => {
          const ours = commitContributors(contributors);
          const sorted = [...contributors]
            .sort((a, b) => (a.twinId < b.twinId ? -1 : 1))
            .map((c): [string, string] => [c.twinId, c.stateRoot]);
          const reference = StandardMerkleTree.of(sorted, [...CONTRIBUTOR_LEAF_ENCODING], { sortLeaves: false });
          expect(ours.root).to.equal(reference.root);
          sorted.forEach(([twinId, stateRoot], i) => {
            expect(ours.proofOf(twinId)).to.deep.equal(reference.getProof(i));
            expect(verifyContributor(ours.root, { twinId, stateRoot }, ours.proofOf(twinId))).to.equal(true);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rejects a leaf with another state root, and has no proof for a stranger", function () {
    const contributors = [1, 2, 3].map((i) => ({ twinId: ethers.id(`t${i}`), stateRoot: ethers.id(`s${i}`) }));
    const c = commitContributors(contributors);
    const forged = { ...contributors[0], stateRoot: ethers.id("other") };
    expect(verifyContributor(c.root, forged, c.proofOf(forged.twinId))).to.equal(false);
    expect(c.proofOf(ethers.id("stranger"))).to.deep.equal([]);
    expect(c.count).to.equal(3);
  });
});
