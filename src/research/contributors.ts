import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

/**
 * The commitment to an answer's contributors: a Merkle root (OpenZeppelin's StandardMerkleTree, double-hashed
 * leaves, sorted pairs) over one leaf per contributing twin, `(bytes32 twinId, bytes32 stateRoot)`, the twin's state
 * root anchored at the block the answer was computed at. The root goes on chain (`StudyRegistry.spendBudget`);
 * an auditor given a leaf and its proof checks it against the root, then checks `isEnrolledAt(study, twin, block)`
 * and the twin's anchored state root at that block (TwinUpdateLog).
 */
export const CONTRIBUTOR_LEAF_ENCODING = ["bytes32", "bytes32"] as const;

/** One contributor: a twin id and its state root at the block asked (0x-prefixed 32-byte hex each). */
export interface Contributor {
  readonly twinId: string;
  readonly stateRoot: string;
}

/** A built commitment: the root, and a proof per twin id for the twins' own audit trails. */
export interface ContributorCommitment {
  readonly root: string;
  readonly count: number;
  proofOf(twinId: string): readonly string[];
}

/** Builds the commitment over the contributors, in a canonical order (sorted by twin id). */
export function commitContributors(contributors: readonly Contributor[]): ContributorCommitment {
  const leaves = contributors
    .map((c): [string, string] => [c.twinId.toLowerCase(), c.stateRoot.toLowerCase()])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const tree = StandardMerkleTree.of(leaves, [...CONTRIBUTOR_LEAF_ENCODING], { sortLeaves: false });
  const index = new Map(leaves.map((leaf, i) => [leaf[0], i]));
  return {
    root: tree.root,
    count: leaves.length,
    proofOf(twinId: string): readonly string[] {
      const i = index.get(twinId.toLowerCase());
      if (i === undefined) return [];
      return tree.getProof(i);
    },
  };
}

/** Whether `contributor` is committed under `root` by `proof`. */
export function verifyContributor(root: string, contributor: Contributor, proof: readonly string[]): boolean {
  return StandardMerkleTree.verify(
    root,
    [...CONTRIBUTOR_LEAF_ENCODING],
    [contributor.twinId.toLowerCase(), contributor.stateRoot.toLowerCase()],
    [...proof],
  );
}
