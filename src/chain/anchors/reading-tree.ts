import type { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { BytesLike } from "ethers";
import { bytesToHex } from "@noble/hashes/utils.js";
import { setSafeUint64 } from "../../crypto/bytes";
import { processStandardProof, standardLeafHash, standardMerkleTreeOf } from "../../crypto/merkle";
import { AnchorError, bytes32HexAndBytes, equalBytes, fixedBytesOf, UINT40_MAX, UINT64_MAX, unsigned } from "./inputs";
import { loadTree, refuseRepeats } from "./trees";

/*
 * Reading batches: `buildReadingTree` builds the StandardMerkleTree whose root `anchorBatch` anchors, `proveReading`
 * gives the proof that `verifyReading` accepts, `readingLeaf` is the leaf both hash.
 */

/** The leaf encoding of a reading tree, as `verifyReading` hashes it. */
export const READING_LEAF_ENCODING: readonly ["bytes32", "uint64"] = ["bytes32", "uint64"];

/**
 * A leaf value as stored in the tree: the reading hash (lower-case hex) and the timestamp as a decimal string,
 * so that `tree.dump()` is plain JSON.
 */
export type ReadingLeaf = [readingHash: string, timestamp: string];

/** A tree of readings; persist it with `tree.dump()` and reload it with `loadReadingTree`. */
export type ReadingTree = StandardMerkleTree<ReadingLeaf>;

/** One reading as anchored: the hash of its encrypted blob (or canonical bytes) and its time. */
export interface Reading {
  readonly readingHash: BytesLike;
  /** Unix time in seconds (at most 2^40 - 1 to be anchorable). */
  readonly timestamp: bigint | number;
}

/** The arguments of `anchorBatch` for a tree (with the twin id). */
export interface BatchAnchor {
  readonly merkleRoot: string;
  readonly count: number;
  readonly from: number;
  readonly to: number;
}

/**
 * The leaf hash of a reading, as both the tree and `verifyReading` compute it:
 * `keccak256(bytes.concat(keccak256(abi.encode(readingHash, timestamp))))`.
 */
export function readingLeaf(readingHash: BytesLike, timestamp: bigint | number): string {
  return "0x" + bytesToHex(checkedLeaf(readingHash, timestamp, "reading").leafHash);
}

/**
 * Builds the StandardMerkleTree over `(bytes32 readingHash, uint64 timestamp)` whose root `anchorBatch` anchors.
 * @throws AnchorError `ANCHOR_EMPTY_BATCH` for no readings, `ANCHOR_DUPLICATE_READING` for a repeated reading,
 * `ANCHOR_INVALID_INPUT` for a malformed one.
 */
export function buildReadingTree(readings: readonly Reading[]): ReadingTree {
  if (readings.length === 0) throw new AnchorError("ANCHOR_EMPTY_BATCH", "a reading batch needs at least one reading");
  const values = new Array<ReadingLeaf>(readings.length);
  const leafHashes = readings.map((reading, index) => {
    const { value, leafHash } = checkedLeaf(reading.readingHash, reading.timestamp, `readings[${index}]`);
    values[index] = value;
    return leafHash;
  });
  // the same tree as StandardMerkleTree.of(values, READING_LEAF_ENCODING), each leaf hashed once on its bytes
  return standardMerkleTreeOf(values, READING_LEAF_ENCODING, leafHashes, {
    onRepeat: refuseRepeats("ANCHOR_DUPLICATE_READING", "readings"),
  });
}

const LEAF_ENCODING_SCRATCH = new Uint8Array(64);
const LEAF_ENCODING_VIEW = new DataView(LEAF_ENCODING_SCRATCH.buffer);

/**
 * The StandardMerkleTree leaf hash of a reading, from its ABI encoding written by hand (two static words:
 * `abi.encode(bytes32 readingHash, uint64 timestamp)`, the bytes ethers' coder gives), with the leaf's value.
 * @throws AnchorError `ANCHOR_INVALID_INPUT` for a malformed reading hash or time.
 */
function checkedLeaf(
  readingHash: BytesLike,
  timestamp: bigint | number,
  name: string,
): { value: ReadingLeaf; leafHash: Uint8Array } {
  const hash = bytes32HexAndBytes(readingHash, `${name}.readingHash`);
  // one buffer for every leaf (hashed at once below): bytes 32..55, the time word's leading zeros, are never written
  const encoded = LEAF_ENCODING_SCRATCH;
  const view = LEAF_ENCODING_VIEW;
  encoded.set(hash.bytes, 0);
  let time: string;
  if (typeof timestamp === "number" && Number.isSafeInteger(timestamp) && timestamp >= 0) {
    setSafeUint64(view, 56, timestamp);
    time = String(timestamp); // what BigInt's toString gives for it, without a BigInt per leaf
  } else {
    const big = unsigned(timestamp, UINT64_MAX, `${name}.timestamp`);
    view.setBigUint64(56, big);
    time = big.toString();
  }
  return { value: [hash.hex, time], leafHash: standardLeafHash(encoded) };
}

/** Reloads a tree saved with `tree.dump()`, checking that it is a reading tree and that it is consistent. */
export function loadReadingTree(data: ReturnType<ReadingTree["dump"]>): ReadingTree {
  return loadTree(data, READING_LEAF_ENCODING, "reading");
}

/**
 * The proof of one reading, for `verifyReading(twinId, tree.root, readingHash, timestamp, proof)`.
 * @throws AnchorError `ANCHOR_READING_NOT_FOUND` if the reading is not in the tree.
 */
export function proveReading(tree: ReadingTree, readingHash: BytesLike, timestamp: bigint | number): string[] {
  const { value } = checkedLeaf(readingHash, timestamp, "reading");
  let index: number;
  try {
    index = tree.leafLookup(value);
  } catch (cause) {
    throw new AnchorError("ANCHOR_READING_NOT_FOUND", "the reading is not in this tree", { cause });
  }
  return tree.getProof(index);
}

/**
 * The proof of the `index`-th reading given to `buildReadingTree` (or of the tree's `index`-th value): read off the
 * tree's nodes, sibling by sibling up to the root, without hashing the leaf again nor re-checking the path as
 * `proveReading` does (the library's `getProof` costs two leaf hashes and a path walk through its generic ABI encoder).
 * The same proof as `proveReading` (a test holds them equal); for a tree whose root the caller has checked.
 * @throws AnchorError `ANCHOR_READING_NOT_FOUND` if the tree has no such value.
 */
export function proveReadingAt(tree: ReadingTree, index: number): string[] {
  const { tree: nodes, values } = tree.dump();
  const value = values[index];
  if (!Number.isInteger(index) || value === undefined) {
    throw new AnchorError("ANCHOR_READING_NOT_FOUND", `the tree has no reading ${index}`);
  }
  const proof: string[] = [];
  for (let i = value.treeIndex; i > 0; i = Math.floor((i - 1) / 2)) proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]);
  return proof;
}

/**
 * The off-chain twin of `verifyReading`'s proof check (without the anchored time range): the StandardMerkleTree leaf
 * (`readingLeaf`), then its sorted-pair path, on bytes (what `StandardMerkleTree.verify` computes, without its
 * generic ABI encoder and hex round trips, which cost ten times the hashing: a test holds the two equal).
 * @throws AnchorError `ANCHOR_INVALID_INPUT` for a malformed root, reading or proof node.
 */
export function verifyReadingProof(
  merkleRoot: BytesLike,
  readingHash: BytesLike,
  timestamp: bigint | number,
  proof: readonly BytesLike[],
): boolean {
  const root = fixedBytesOf(merkleRoot, 32, "merkleRoot");
  const siblings = proof.map((node, i) => fixedBytesOf(node, 32, `proof[${i}]`));
  const leaf = checkedLeaf(readingHash, timestamp, "reading").leafHash;
  return equalBytes(processStandardProof(leaf, siblings), root);
}

/**
 * What to pass to `anchorBatch` for a tree: its root, the number of readings and the first and last times.
 * @throws AnchorError `ANCHOR_BATCH_RANGE` if a time does not fit the contract's uint40.
 */
export function batchAnchorOf(tree: ReadingTree): BatchAnchor {
  let from = UINT64_MAX;
  let to = 0n;
  for (const [, [, timestamp]] of tree.entries()) {
    const time = BigInt(timestamp);
    if (time < from) from = time;
    if (time > to) to = time;
  }
  if (to > UINT40_MAX) {
    throw new AnchorError("ANCHOR_BATCH_RANGE", `a reading time exceeds 2^40 - 1 seconds, which anchorBatch takes`);
  }
  return { merkleRoot: tree.root, count: tree.length, from: Number(from), to: Number(to) };
}
