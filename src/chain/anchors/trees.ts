import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
// The library's tree builder, without the leaf formatting of `StandardMerkleTree.of`; the package has no exports map,
// dist/ is its API.
import { makeMerkleTree } from "@openzeppelin/merkle-tree/dist/core";
import { AnchorError, type AnchorErrorCode } from "./inputs";

/* What reading and record trees share: unique leaves, reloading a saved tree, building one with leaves hashed once. */

/**
 * The leaf values of a tree, each once: the `index`-th item's value, refused with `duplicateCode` when it repeats an
 * earlier one (a repeated leaf would make two items share one proof). Reading and record trees both build on it.
 */
export function uniqueLeaves<T, V extends readonly unknown[]>(
  items: readonly T[],
  valueOf: (item: T, index: number) => V,
  duplicateCode: AnchorErrorCode,
  what: string,
): V[] {
  const seen = new Set<string>();
  return items.map((item, index) => {
    const value = valueOf(item, index);
    const key = value.join("/");
    if (seen.has(key)) {
      throw new AnchorError(duplicateCode, `${what}[${index}] repeats an earlier ${what.slice(0, -1)} of the batch`);
    }
    seen.add(key);
    return value;
  });
}

/** A tree saved with `tree.dump()`, reloaded once its leaf encoding is checked to be `encoding`. */
export function loadTree<V extends unknown[]>(
  data: ReturnType<StandardMerkleTree<V>["dump"]>,
  encoding: readonly string[],
  what: string,
): StandardMerkleTree<V> {
  if (data.leafEncoding.length !== encoding.length || data.leafEncoding.some((type, i) => type !== encoding[i])) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `the tree's leaf encoding is not (${encoding.join(", ")})`);
  }
  try {
    return StandardMerkleTree.load(data);
  } catch (cause) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `the saved ${what} tree is not a valid Merkle tree`, { cause });
  }
}

/**
 * `StandardMerkleTree.of(values, encoding)` with each leaf hashed once by `leafHash` (ethers' coder with the types
 * parsed once, where the library's encoder parses them per leaf and costs most of a 20,000-leaf build): the same
 * sorted leaves, tree, root and proofs (test/src/pipeline/record-tree.test.ts holds them equal).
 * @dev Leaf hashes are lower-case 0x hex of one length, so string order is the library's byte order.
 */
export function standardTreeOf<V extends unknown[]>(
  values: V[],
  encoding: readonly string[],
  leafHash: (value: V) => string,
): StandardMerkleTree<V> {
  const hashed = values.map((value, valueIndex) => ({ valueIndex, hash: leafHash(value) }));
  hashed.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const tree = makeMerkleTree(hashed.map((leaf) => leaf.hash));
  const indexed = values.map((value) => ({ value, treeIndex: 0 }));
  hashed.forEach(({ valueIndex }, leafIndex) => (indexed[valueIndex].treeIndex = tree.length - leafIndex - 1));
  type Constructor = new (tree: string[], values: typeof indexed, leafEncoding: string[]) => StandardMerkleTree<V>;
  return new (StandardMerkleTree as unknown as Constructor)(tree, indexed, [...encoding]);
}
