import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AnchorError, type AnchorErrorCode } from "./inputs";

/* What reading and record trees share: unique leaves and reloading a saved tree (record trees are built on bytes by src/crypto/merkle.ts). */

/**
 * The `onRepeat` of a reading or record tree (see `standardMerkleTreeOf`): a repeated leaf would make two items share
 * one proof, so the `index`-th item that repeats an earlier one of the batch is refused with `duplicateCode`. Equal
 * leaf hashes are equal values (the leaf hash is injective on the checked values, barring a keccak collision).
 */
export function refuseRepeats(duplicateCode: AnchorErrorCode, what: string): (index: number) => never {
  return (index) => {
    throw new AnchorError(duplicateCode, `${what}[${index}] repeats an earlier ${what.slice(0, -1)} of the batch`);
  };
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
