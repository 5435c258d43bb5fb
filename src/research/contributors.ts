import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { getBytes, hexlify } from "ethers";

/**
 * The commitment to an answer's contributors: a Merkle root over one leaf per contributing twin,
 * `(bytes32 twinId, bytes32 stateRoot)`, the twin's state root anchored at the block the answer was computed at. The
 * root goes on chain (`StudyRegistry.spendBudget`); an auditor given a leaf and its proof checks it against the root,
 * then checks `isEnrolledAt(study, twin, block)` and the twin's anchored state root at that block (TwinUpdateLog).
 *
 * The tree is OpenZeppelin's StandardMerkleTree, leaves in the order given (`sortLeaves: false`, after sorting by twin
 * id here): leaf = keccak256(keccak256(abi.encode(twinId, stateRoot))), pairs hashed sorted, so `verifyContributor`
 * (the library's `verify`) and OpenZeppelin's `MerkleProof.verify` on chain both check it. It is built here on raw
 * bytes because the library's builder (ABI-encoding and validating every leaf) takes ~400 ms for 1,000 leaves, twice
 * the whole answer's budget; a test holds the two roots and proofs equal.
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

function hashBytes(bytes: Uint8Array): Uint8Array {
  return keccak_256(bytes);
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i += 1) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const both = new Uint8Array(64);
  const [first, second] = compare(a, b) <= 0 ? [a, b] : [b, a];
  both.set(first, 0);
  both.set(second, 32);
  return hashBytes(both);
}

function leafHash(c: Contributor): Uint8Array {
  const encoded = new Uint8Array(64);
  encoded.set(getBytes(c.twinId), 0);
  encoded.set(getBytes(c.stateRoot), 32);
  return hashBytes(hashBytes(encoded));
}

/** Builds the commitment over the contributors (at least one), in a canonical order (sorted by twin id). */
export function commitContributors(contributors: readonly Contributor[]): ContributorCommitment {
  const sorted = contributors
    .map((c) => ({ twinId: c.twinId.toLowerCase(), stateRoot: c.stateRoot.toLowerCase() }))
    .sort((a, b) => (a.twinId < b.twinId ? -1 : a.twinId > b.twinId ? 1 : 0));
  const n = sorted.length;
  // OpenZeppelin's layout: a complete binary tree in an array, leaf i at index 2n - 2 - i, node i's children 2i+1, 2i+2.
  const tree = new Array<Uint8Array>(2 * n - 1);
  sorted.forEach((c, i) => (tree[tree.length - 1 - i] = leafHash(c)));
  for (let i = tree.length - 1 - n; i >= 0; i -= 1) tree[i] = hashPair(tree[2 * i + 1], tree[2 * i + 2]);
  const index = new Map(sorted.map((c, i) => [c.twinId, tree.length - 1 - i]));
  return {
    root: hexlify(tree[0]),
    count: n,
    proofOf(twinId: string): readonly string[] {
      let i = index.get(twinId.toLowerCase());
      if (i === undefined) return [];
      const proof: string[] = [];
      while (i > 0) {
        proof.push(hexlify(tree[i % 2 === 0 ? i - 1 : i + 1]));
        i = Math.floor((i - 1) / 2);
      }
      return proof;
    },
  };
}

/** Whether `contributor` is committed under `root` by `proof` (OpenZeppelin's StandardMerkleTree.verify). */
export function verifyContributor(root: string, contributor: Contributor, proof: readonly string[]): boolean {
  return StandardMerkleTree.verify(
    root,
    [...CONTRIBUTOR_LEAF_ENCODING],
    [contributor.twinId.toLowerCase(), contributor.stateRoot.toLowerCase()],
    [...proof],
  );
}
