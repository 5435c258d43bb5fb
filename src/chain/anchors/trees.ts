import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AnchorError, type AnchorErrorCode } from "./inputs";

/* What reading and record trees share: unique leaves and reloading a saved tree (record trees are built on bytes by src/crypto/merkle.ts). */

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
