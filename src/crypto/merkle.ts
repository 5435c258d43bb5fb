import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { bytesToHex } from "@noble/hashes/utils.js";
import { keccak256 } from "./keccak";

/**
 * OpenZeppelin StandardMerkleTrees built from leaf hashes computed by the caller, on bytes.
 *
 * `StandardMerkleTree.of(values, encoding)` ABI-encodes each value with its encoder (which parses the type strings
 * per leaf) and hashes leaves and nodes through hex strings: for a 20,000-leaf tree (one large EMR ingest, or the
 * sources of its twin version) that is most of a second per tree on a loaded 2-core machine. Here the caller hashes
 * each leaf once from its ABI encoding (`standardLeafHash`, keccak256 twice, as the library does), and the inner
 * nodes are hashed on bytes (sorted pairs, as `standardNodeHash`). The result is the library's own tree object,
 * with the same sorted leaves, nodes, value indices, root and proofs (test/src/crypto/merkle.test.ts holds them
 * equal to `StandardMerkleTree.of` on random inputs).
 */

/** The leaf hash of a StandardMerkleTree from the leaf's ABI encoding: `keccak256(keccak256(encoded))`. */
export function standardLeafHash(encoded: Uint8Array): Uint8Array {
  return keccak256(keccak256(encoded));
}

/** What `standardMerkleTreeOf` may also do. */
export interface StandardTreeOptions {
  /**
   * Refuses a repeated leaf: called (and expected to throw) with the index of the first value, in the order given,
   * whose leaf hash repeats an earlier value's. Found on the sorted leaves (a repeat sorts beside its first), so it
   * costs no more than the sort. Without it repeats are kept, as the library does.
   */
  readonly onRepeat?: (valueIndex: number) => never;
}

/**
 * The StandardMerkleTree of `values` (leaf encoding `encoding`) whose leaf hashes are `leafHashes` (32 bytes each,
 * `standardLeafHash` of each value's ABI encoding, in the order of `values`). The caller vouches that each hash is
 * the value's: the tree is not re-hashed from the values (`tree.validate()` does that, when wanted).
 * @throws RangeError when there are no values, or not one 32-byte hash per value; what `onRepeat` throws.
 */
export function standardMerkleTreeOf<V extends unknown[]>(
  values: V[],
  encoding: readonly string[],
  leafHashes: readonly Uint8Array[],
  options: StandardTreeOptions = {},
): StandardMerkleTree<V> {
  const count = values.length;
  if (count === 0) throw new RangeError("a Merkle tree needs at least one leaf");
  if (leafHashes.length !== count || leafHashes.some((hash) => hash.length !== 32)) {
    throw new RangeError("a Merkle tree needs one 32-byte leaf hash per value");
  }
  // Leaves sorted by hash (the library's default `sortLeaves`); lower-case hex of one length sorts as the bytes do.
  // The sort is stable: equal hashes stay in the order of their values.
  const hexes = leafHashes.map(toHex);
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => (hexes[a] < hexes[b] ? -1 : hexes[a] > hexes[b] ? 1 : 0));
  if (options.onRepeat !== undefined) {
    const repeat = firstRepeat(order, hexes);
    if (repeat >= 0) options.onRepeat(repeat);
  }
  // The library's array layout: node i has children 2i+1 and 2i+2, the leaves at the end in reverse sorted order.
  const size = 2 * count - 1;
  const nodes = new Array<Uint8Array>(size);
  const tree = new Array<string>(size);
  order.forEach((valueIndex, leafIndex) => {
    nodes[size - 1 - leafIndex] = leafHashes[valueIndex];
    tree[size - 1 - leafIndex] = hexes[valueIndex];
  });
  const pair = new Uint8Array(64);
  for (let i = size - 1 - count; i >= 0; i--) {
    nodes[i] = sortedPairHash(nodes[2 * i + 1], nodes[2 * i + 2], pair);
    tree[i] = toHex(nodes[i]);
  }
  const indexed = values.map((value) => ({ value, treeIndex: 0 }));
  order.forEach((valueIndex, leafIndex) => (indexed[valueIndex].treeIndex = size - 1 - leafIndex));
  return libraryTree(tree, indexed, encoding);
}

/**
 * The library's tree object over a tree it did not build (its constructor takes one: `load` uses it the same way).
 * @dev The constructor also fills `hashLookup` (leaf hash → value index, one property per leaf), which only
 * `leafLookup` reads (a proof asked by value); the pipeline asks proofs by index, and building that object was ~10%
 * of a reading tree's build. So the tree is made over no values, then given its values, and `hashLookup` is built on
 * its first read, as the constructor would have built it (test/src/crypto/merkle.test.ts asks proofs by value and
 * index against `StandardMerkleTree.of`).
 */
function libraryTree<V extends unknown[]>(
  tree: string[],
  indexed: { value: V; treeIndex: number }[],
  encoding: readonly string[],
): StandardMerkleTree<V> {
  type Constructor = new (tree: string[], values: typeof indexed, leafEncoding: string[]) => StandardMerkleTree<V>;
  const made = new (StandardMerkleTree as unknown as Constructor)(tree, [], [...encoding]);
  const fields = made as unknown as { values: typeof indexed };
  fields.values = indexed;
  Object.defineProperty(made, "hashLookup", {
    configurable: true,
    enumerable: true,
    get(): Record<string, number> {
      const lookup = Object.fromEntries(indexed.map(({ treeIndex }, valueIndex) => [tree[treeIndex], valueIndex]));
      Object.defineProperty(made, "hashLookup", { value: lookup, writable: true, enumerable: true });
      return lookup;
    },
  });
  return made;
}

/** The first value index (in value order) whose hash equals an earlier value's, or -1; `order` sorted stably. */
function firstRepeat(order: readonly number[], hexes: readonly string[]): number {
  let first = -1;
  for (let i = 1; i < order.length; i++) {
    const index = order[i];
    // the second of a run of equal hashes is its first repeat (a run is in value order)
    if (hexes[index] === hexes[order[i - 1]] && (i < 2 || hexes[order[i - 2]] !== hexes[index])) {
      if (first < 0 || index < first) first = index;
    }
  }
  return first;
}

/**
 * The root a StandardMerkleTree proof leads to from `leaf` (32 bytes each): each step hashes the sorted pair, as the
 * library's `processProof` and OpenZeppelin's `MerkleProof.processProof` do, on bytes.
 * @throws RangeError when the leaf or a proof node is not 32 bytes.
 */
export function processStandardProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  if (leaf.length !== 32 || proof.some((node) => node.length !== 32)) {
    throw new RangeError("a Merkle proof takes a 32-byte leaf and 32-byte nodes");
  }
  const pair = new Uint8Array(64);
  let node = leaf;
  for (const sibling of proof) node = sortedPairHash(node, sibling, pair);
  return node;
}

/**
 * A StandardMerkleTree inner node: keccak256 of the two 32-byte children, the smaller first (the library's
 * `standardNodeHash`), written into `pair` (64 bytes, reused by the caller's loop).
 */
function sortedPairHash(a: Uint8Array, b: Uint8Array, pair: Uint8Array): Uint8Array {
  const aFirst = compareBytes(a, b) <= 0;
  pair.set(aFirst ? a : b, 0);
  pair.set(aFirst ? b : a, 32);
  return keccak256(pair);
}

/** 0x lower-case hex (noble's, not Buffer's: the web app builds on these modules too). */
function toHex(bytes: Uint8Array): string {
  return "0x" + bytesToHex(bytes);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
