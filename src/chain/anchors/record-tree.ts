import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { BytesLike } from "ethers";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { keccak256 } from "../../crypto/keccak";
import { processStandardProof, standardLeafHash, standardMerkleTreeOf } from "../../crypto/merkle";
import { ALL_CATEGORIES } from "../../vocabulary";
import { AnchorError, bytes32Hex, cidBytes, equalBytes, fixedBytesOf, UINT32_MAX, unsigned } from "./inputs";
import { loadTree, refuseRepeats } from "./trees";

/*
 * Record batches: `buildRecordTree` builds the StandardMerkleTree whose root `anchorRecords` anchors (one per EMR
 * ingest), `proveRecord` gives the proof that `verifyRecord` accepts, `recordLeaf` is the leaf both hash.
 */

/** The leaf encoding of a record tree, as `verifyRecord` hashes it: `(category, contentHash, cidHash)`. */
export const RECORD_LEAF_ENCODING: readonly ["uint32", "bytes32", "bytes32"] = ["uint32", "bytes32", "bytes32"];

/**
 * A leaf value as stored in the tree: the category as a decimal string, the content hash and the cid hash (lower-case
 * hex), so that `tree.dump()` is plain JSON.
 */
export type RecordLeaf = [category: string, contentHash: string, cidHash: string];

/** A tree of records; persist it with `tree.dump()` and reload it with `loadRecordTree`. */
export type RecordTree = StandardMerkleTree<RecordLeaf>;

/** One record as anchored: its one DataCategory bit, the hash of its encrypted blob and the blob's content id. */
export interface RecordInput {
  readonly category: bigint | number;
  readonly contentHash: BytesLike;
  /** The content id bytes (1 to `MAX_CID_LENGTH` bytes); the tree holds keccak256 of them. */
  readonly cid: BytesLike;
}

/** The arguments of `anchorRecords` for a tree (with the twin id). */
export interface RecordsAnchor {
  readonly recordsRoot: string;
  /** The OR of the records' categories. */
  readonly categories: number;
}

/** keccak256 of a content id's bytes: the `cidHash` of a record leaf. */
export function cidHashOf(cid: BytesLike): string {
  const bytes = cidBytes(cid);
  return "0x" + bytesToHex(keccak256(bytes instanceof Uint8Array ? bytes : hexToBytes(bytes.slice(2))));
}

/**
 * The leaf hash of a record, as both the tree and `verifyRecord` compute it:
 * `keccak256(bytes.concat(keccak256(abi.encode(category, contentHash, cidHash))))`.
 */
export function recordLeaf(category: bigint | number, contentHash: BytesLike, cidHash: BytesLike): string {
  return "0x" + bytesToHex(recordLeafHash(recordValue(category, contentHash, cidHash, "record")));
}

/**
 * Builds the StandardMerkleTree over `(uint32 category, bytes32 contentHash, bytes32 cidHash)` whose root
 * `anchorRecords` anchors; pass `recordsAnchorOf(tree)` to it.
 * @throws AnchorError `ANCHOR_EMPTY_BATCH` for no records, `ANCHOR_DUPLICATE_RECORD` for a repeated record,
 * `ANCHOR_INVALID_INPUT` for a malformed one (a category that is not exactly one defined bit among them).
 */
export function buildRecordTree(records: readonly RecordInput[]): RecordTree {
  if (records.length === 0) throw new AnchorError("ANCHOR_EMPTY_BATCH", "a record batch needs at least one record");
  const values = records.map((record, index): RecordLeaf => recordInputValue(record, `records[${index}]`));
  // the same tree as StandardMerkleTree.of(values, RECORD_LEAF_ENCODING), each leaf hashed once on its bytes
  return standardMerkleTreeOf(values, RECORD_LEAF_ENCODING, values.map(recordLeafHash), {
    onRepeat: refuseRepeats("ANCHOR_DUPLICATE_RECORD", "records"),
  });
}

/**
 * The StandardMerkleTree leaf hash of a checked record value, from its ABI encoding written by hand (three static
 * words: `abi.encode(uint32 category, bytes32 contentHash, bytes32 cidHash)`, the bytes ethers' coder gives).
 */
function recordLeafHash([category, contentHash, cidHash]: RecordLeaf): Uint8Array {
  const encoded = new Uint8Array(96);
  new DataView(encoded.buffer).setUint32(28, Number(category));
  encoded.set(hexToBytes(contentHash.slice(2)), 32);
  encoded.set(hexToBytes(cidHash.slice(2)), 64);
  return standardLeafHash(encoded);
}

/** Reloads a tree saved with `tree.dump()`, checking that it is a record tree and that it is consistent. */
export function loadRecordTree(data: ReturnType<RecordTree["dump"]>): RecordTree {
  const tree: RecordTree = loadTree(data, RECORD_LEAF_ENCODING, "record");
  for (const [index, [category]] of tree.entries()) {
    if (!isOneCategory(BigInt(category))) {
      throw new AnchorError("ANCHOR_INVALID_INPUT", `leaf ${index} has a category that is not one defined bit`);
    }
  }
  return tree;
}

/**
 * The proof of one record, for `verifyRecord(twinId, source, tree.root, category, contentHash, cidHashOf(cid), proof)`.
 * @throws AnchorError `ANCHOR_RECORD_NOT_FOUND` if the record is not in the tree.
 */
export function proveRecord(tree: RecordTree, record: RecordInput): string[] {
  const value = recordInputValue(record, "record");
  let index: number;
  try {
    index = tree.leafLookup(value);
  } catch (cause) {
    throw new AnchorError("ANCHOR_RECORD_NOT_FOUND", "the record is not in this tree", { cause });
  }
  return tree.getProof(index);
}

/**
 * The proof of every record of the tree, in the order the records were given to `buildRecordTree`: read off the
 * tree's nodes (sibling by sibling up to the root), without hashing a leaf again. The same proofs as `proveRecord`
 * (a test holds them equal), in O(n log n) for a whole ingest where a lookup per record costs a leaf hash each.
 */
export function proveAllRecords(tree: RecordTree): string[][] {
  const { tree: nodes, values } = tree.dump();
  return values.map(({ treeIndex }) => {
    const proof: string[] = [];
    for (let i = treeIndex; i > 0; i = Math.floor((i - 1) / 2)) proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]);
    return proof;
  });
}

/**
 * The off-chain twin of `verifyRecord`'s proof check (without the anchored batch and its category mask).
 */
export function verifyRecordProof(
  recordsRoot: BytesLike,
  category: bigint | number,
  contentHash: BytesLike,
  cidHash: BytesLike,
  proof: readonly BytesLike[],
): boolean {
  const root = fixedBytesOf(recordsRoot, 32, "recordsRoot");
  const siblings = proof.map((node, i) => fixedBytesOf(node, 32, `proof[${i}]`));
  const leaf = recordLeafHash(recordValue(category, contentHash, cidHash, "record"));
  return equalBytes(processStandardProof(leaf, siblings), root);
}

/** What to pass to `anchorRecords` for a tree: its root and the OR of its records' categories. */
export function recordsAnchorOf(tree: RecordTree): RecordsAnchor {
  let categories = 0;
  for (const [, [category]] of tree.entries()) categories |= Number(category);
  return { recordsRoot: tree.root, categories };
}

function recordInputValue(record: RecordInput, name: string): RecordLeaf {
  return recordValue(record.category, record.contentHash, cidHashOf(record.cid), name);
}

function recordValue(category: bigint | number, contentHash: BytesLike, cidHash: BytesLike, name: string): RecordLeaf {
  const bit = unsigned(category, UINT32_MAX, `${name}.category`);
  if (!isOneCategory(bit)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name}.category is not exactly one defined DataCategory bit`);
  }
  return [bit.toString(), bytes32Hex(contentHash, `${name}.contentHash`), bytes32Hex(cidHash, `${name}.cidHash`)];
}

/** Whether `category` is exactly one defined DataCategory bit (as the contract's `_isOneCategory`). */
function isOneCategory(category: bigint): boolean {
  return category !== 0n && (category & (category - 1n)) === 0n && (category & BigInt(ALL_CATEGORIES)) === category;
}
