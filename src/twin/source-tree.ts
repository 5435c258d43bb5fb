import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hexToBytes } from "@noble/hashes/utils.js";
import { ZeroHash } from "ethers";
import { standardLeafHash, standardMerkleTreeOf } from "../crypto/merkle";
import { TwinEngineError } from "./errors";
import type { Bytes32, TwinVersion } from "./types";

/**
 * The sources tree is an OpenZeppelin StandardMerkleTree with leaf encoding `["bytes32"]`:
 * leaf = keccak256(bytes.concat(keccak256(abi.encode(sourceHash)))), pairs hashed sorted, so
 * `MerkleProof.verify(proof, sourcesRoot, leaf)` checks a proof on chain. Leaves are the
 * lower-cased, deduplicated source hashes; the tree sorts them, so input order never matters.
 */
export const SOURCE_LEAF_ENCODING: readonly string[] = Object.freeze(["bytes32"]);

/** The sources root of a version without sources (not committable: the contract refuses a zero root). */
export const EMPTY_SOURCES_ROOT: Bytes32 = ZeroHash;

const BYTES32 = /^0x[0-9a-f]{64}$/;

/** Lower-case, validate, deduplicate and sort source hashes. */
export function normalizeSourceHashes(hashes: readonly string[]): Bytes32[] {
  const unique = new Set<string>();
  hashes.forEach((hash, index) => {
    const lower = typeof hash === "string" ? hash.toLowerCase() : "";
    if (!BYTES32.test(lower)) {
      throw new TwinEngineError(
        "TWIN_INVALID_SOURCE_HASH",
        `source hash ${index} is not a 0x-prefixed 32-byte hex string`,
      );
    }
    unique.add(lower);
  });
  return [...unique].sort();
}

const trees = new WeakMap<readonly Bytes32[], StandardMerkleTree<[string]>>();

function treeOf(hashes: readonly Bytes32[]): StandardMerkleTree<[string]> {
  let tree = trees.get(hashes);
  if (tree === undefined) {
    // StandardMerkleTree.of's tree, each leaf hashed once on its bytes (abi.encode(bytes32) is the hash itself)
    tree = standardMerkleTreeOf(
      hashes.map((hash): [string] => [hash]),
      SOURCE_LEAF_ENCODING,
      hashes.map((hash) => standardLeafHash(hexToBytes(hash.slice(2)))),
    );
    trees.set(hashes, tree);
  }
  return tree;
}

/** The sources root over normalized hashes (see `normalizeSourceHashes`); zero hash when empty. */
export function computeSourcesRoot(hashes: readonly Bytes32[]): Bytes32 {
  return hashes.length === 0 ? EMPTY_SOURCES_ROOT : treeOf(hashes).root;
}

/**
 * The Merkle proof that `sourceHash` fed `version` (is a leaf under its sourcesRoot).
 * Throws `TWIN_SOURCE_NOT_FOUND` if it did not.
 */
export function sourceProof(version: TwinVersion, sourceHash: string): Bytes32[] {
  const [hash] = normalizeSourceHashes([sourceHash]);
  const hashes = version.sourceHashes;
  if (!hashes.includes(hash)) {
    throw new TwinEngineError("TWIN_SOURCE_NOT_FOUND", "the source hash did not feed this twin version");
  }
  return treeOf(hashes).getProof([hash]);
}

/** True iff `proof` shows `sourceHash` under `sourcesRoot`. Malformed input gives false. */
export function verifySourceProof(sourcesRoot: string, sourceHash: string, proof: readonly string[]): boolean {
  try {
    if (!BYTES32.test(sourcesRoot.toLowerCase()) || !proof.every((node) => BYTES32.test(node.toLowerCase())))
      return false;
    const [hash] = normalizeSourceHashes([sourceHash]);
    return StandardMerkleTree.verify(sourcesRoot.toLowerCase(), [...SOURCE_LEAF_ENCODING], [hash], [...proof]);
  } catch {
    return false;
  }
}
