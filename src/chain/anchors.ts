import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
// The sorted-pair proof walk of the library's trees, without the leaf formatting of its `verify` helpers (a generic
// ABI encoder that cost more than the rest of an answer's check); the package has no exports map, dist/ is its API.
import { processProof } from "@openzeppelin/merkle-tree/dist/core";
import {
  AbiCoder,
  dataLength,
  dataSlice,
  getAddress,
  hexlify,
  isHexString,
  keccak256,
  ParamType,
  ZeroHash,
  type BytesLike,
} from "ethers";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { standardLeafHash, standardMerkleTreeOf } from "../crypto/merkle";
import { TwinLedgerError } from "../errors";
import { ALL_CATEGORIES } from "../vocabulary";

/**
 * What off-chain code computes exactly as TwinUpdateLog does, in one place:
 *
 * - the update hash chain: `nextHead` is the step of `recordUpdate`, `nextRecordsHead` the step of `anchorRecords`;
 *   `verifyUpdateChain` rebuilds the chain from `UpdateRecorded` and `RecordsAnchored` events and checks it against
 *   the on-chain `logHeadOf`;
 * - reading batches: `buildReadingTree` builds the StandardMerkleTree whose root `anchorBatch` anchors,
 *   `proveReading` gives the proof that `verifyReading` accepts, `readingLeaf` is the leaf both hash;
 * - record batches: `buildRecordTree` builds the StandardMerkleTree whose root `anchorRecords` anchors (one per EMR
 *   ingest), `proveRecord` gives the proof that `verifyRecord` accepts, `recordLeaf` is the leaf both hash.
 *
 * Only hashes, content ids, sequence numbers and times pass through here, never health data.
 */

/**
 * The error codes of this module.
 *
 * | code                     | raised when                                                                 |
 * | ------------------------ | --------------------------------------------------------------------------- |
 * | `ANCHOR_INVALID_INPUT`   | a hash, head, address, cid, sequence, category or timestamp is malformed    |
 * | `ANCHOR_EMPTY_BATCH`     | a reading or record tree is asked for no leaves                              |
 * | `ANCHOR_DUPLICATE_READING` | the same (readingHash, timestamp) appears twice in one batch              |
 * | `ANCHOR_READING_NOT_FOUND` | a proof is asked for a reading that is not in the tree                    |
 * | `ANCHOR_BATCH_RANGE`     | a batch's readings lie beyond what a uint40 time can hold                    |
 * | `ANCHOR_DUPLICATE_RECORD` | the same (category, contentHash, cid) appears twice in one record batch    |
 * | `ANCHOR_RECORD_NOT_FOUND` | a proof is asked for a record that is not in the tree                      |
 */
export type AnchorErrorCode =
  | "ANCHOR_INVALID_INPUT"
  | "ANCHOR_EMPTY_BATCH"
  | "ANCHOR_DUPLICATE_READING"
  | "ANCHOR_READING_NOT_FOUND"
  | "ANCHOR_BATCH_RANGE"
  | "ANCHOR_DUPLICATE_RECORD"
  | "ANCHOR_RECORD_NOT_FOUND";

/** An error of this module; messages name the offending argument and its shape, never its content. */
export class AnchorError extends TwinLedgerError {
  declare readonly code: AnchorErrorCode;

  constructor(code: AnchorErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

// ------------------------------------------------------------------------------------------------------------
// The update hash chain
// ------------------------------------------------------------------------------------------------------------

/** The head of a twin with no update yet: 24 zero bytes. */
export const ZERO_HEAD = `0x${"00".repeat(24)}`;

/** TwinUpdateLog.MAX_CID_LENGTH: the longest content id `recordUpdate` takes, in bytes. */
export const MAX_CID_LENGTH = 96;

/**
 * The ABI types hashed by one step of the chain (see ITwinUpdateLog.recordUpdate and anchorRecords): an update
 * puts its category, content hash and keccak256(cid) in the last three words, a record batch its categories mask,
 * its root and a zero word.
 */
export const HEAD_ENCODING = ["bytes24", "bytes32", "uint64", "address", "uint32", "bytes32", "bytes32"] as const;
const HEAD_PARAMS = HEAD_ENCODING.map((type) => ParamType.from(type));

const UINT32_MAX = (1n << 32n) - 1n;
const UINT40_MAX = (1n << 40n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const coder = AbiCoder.defaultAbiCoder();

/** A twin's log head as `logHeadOf` returns it (the typechain struct output fits). */
export interface LogHeadLike {
  readonly sequence: bigint | number;
  readonly head: string;
}

/**
 * The fields of an `UpdateRecorded` event. The typechain `args` of a queried event fit as they are:
 * `(await updateLog.queryFilter(updateLog.filters.UpdateRecorded(twinId))).map((e) => e.args)`.
 */
export interface UpdateRecordedLike {
  readonly twinId: string;
  readonly sequence: bigint | number;
  readonly source: string;
  readonly category: bigint | number;
  readonly contentHash: string;
  readonly cid: BytesLike;
  readonly head: string;
}

/**
 * One step of the hash chain, as `recordUpdate` computes it:
 * `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, source, category, contentHash, keccak256(cid))))`.
 * @param previousHead The head before this update (`ZERO_HEAD` before the first), 24 bytes.
 * @param twinId The twin, 32 bytes.
 * @param sequence This update's sequence number (the first is 1).
 * @param source The address that recorded the update.
 * @param category The update's DataCategory bit.
 * @param contentHash keccak256 of the encrypted blob, 32 bytes.
 * @param cid The content id bytes, as passed to `recordUpdate` (1 to `MAX_CID_LENGTH` bytes).
 * @returns The new head, a 0x-prefixed 24-byte hex string (lower case).
 */
export function nextHead(
  previousHead: BytesLike,
  twinId: BytesLike,
  sequence: bigint | number,
  source: string,
  category: bigint | number,
  contentHash: BytesLike,
  cid: BytesLike,
): string {
  return chainStep(previousHead, twinId, sequence, source, () => [
    unsigned(category, UINT32_MAX, "category"),
    fixedBytes(contentHash, 32, "contentHash"),
    keccak256(cidBytes(cid)),
  ]);
}

/**
 * One step of a twin's hash chain, the encoding `recordUpdate` and `anchorRecords` share:
 * `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, source, ...tail)))`, the tail being the step's
 * category word and its two last words. The arguments are checked in that order (the tail after the first four).
 */
function chainStep(
  previousHead: BytesLike,
  twinId: BytesLike,
  sequence: bigint | number,
  source: string,
  tail: () => readonly [bigint, BytesLike, string],
): string {
  const values = [
    fixedBytes(previousHead, 24, "previousHead"),
    fixedBytes(twinId, 32, "twinId"),
    unsigned(sequence, UINT64_MAX, "sequence"),
    address(source, "source"),
    ...tail(),
  ];
  return dataSlice(keccak256(coder.encode(HEAD_PARAMS, values)), 0, 24);
}

/**
 * The fields of a `RecordsAnchored` event; the typechain `args` of a queried event fit as they are.
 */
export interface RecordsAnchoredLike {
  readonly twinId: string;
  readonly sequence: bigint | number;
  readonly source: string;
  readonly categories: bigint | number;
  readonly recordsRoot: string;
  readonly head: string;
}

/** One entry of a twin's hash chain: an update or a record batch. */
export type LogEntryLike = UpdateRecordedLike | RecordsAnchoredLike;

/**
 * One records step of the hash chain, as `anchorRecords` computes it:
 * `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, source, categories, recordsRoot, bytes32(0))))`.
 * @param previousHead The head before this batch (`ZERO_HEAD` before the first entry), 24 bytes.
 * @param twinId The twin, 32 bytes.
 * @param sequence The batch's sequence number.
 * @param source The address that anchored the batch.
 * @param categories The batch's category mask.
 * @param recordsRoot The batch's root, 32 bytes.
 * @returns The new head, a 0x-prefixed 24-byte hex string (lower case).
 */
export function nextRecordsHead(
  previousHead: BytesLike,
  twinId: BytesLike,
  sequence: bigint | number,
  source: string,
  categories: bigint | number,
  recordsRoot: BytesLike,
): string {
  return chainStep(previousHead, twinId, sequence, source, () => [
    unsigned(categories, UINT32_MAX, "categories"),
    fixedBytes(recordsRoot, 32, "recordsRoot"),
    ZeroHash,
  ]);
}

/** Whether a chain entry is a record batch (its events have `recordsRoot`; ethers' Results throw on unknown names). */
function isRecordsEntry(entry: LogEntryLike): entry is RecordsAnchoredLike {
  try {
    return (entry as Partial<RecordsAnchoredLike>).recordsRoot !== undefined;
  } catch {
    return false;
  }
}

/** The head an entry should carry, recomputed from the previous head and the entry's fields. */
function stepOf(previousHead: string, entry: LogEntryLike, sequence: bigint): string {
  if (isRecordsEntry(entry)) {
    return nextRecordsHead(previousHead, entry.twinId, sequence, entry.source, entry.categories, entry.recordsRoot);
  }
  return nextHead(previousHead, entry.twinId, sequence, entry.source, entry.category, entry.contentHash, entry.cid);
}

/** Why a chain of events does not check out. */
export type UpdateChainFault =
  /** An event belongs to another twin than the first. */
  | "TWIN_MISMATCH"
  /** An event's sequence is not the previous one plus one: an event was dropped, repeated or reordered. */
  | "SEQUENCE_MISMATCH"
  /** An event's head is not the step from the previous head over its fields: an event was altered. */
  | "HEAD_MISMATCH"
  /** The rebuilt chain ends elsewhere than the on-chain head: events are missing at the end, or were rewritten. */
  | "EXPECTED_HEAD_MISMATCH";

/** The outcome of `verifyUpdateChain`. */
export type UpdateChainVerification =
  | { readonly valid: true; readonly sequence: bigint; readonly head: string }
  | {
      readonly valid: false;
      readonly fault: UpdateChainFault;
      /** The index in `events` of the first offending event (`events.length` for `EXPECTED_HEAD_MISMATCH`). */
      readonly index: number;
      readonly message: string;
    };

/**
 * Rebuilds a twin's hash chain from its `UpdateRecorded` and `RecordsAnchored` events, in order, and checks each
 * event's sequence and head, then the final head against the on-chain one. Detects a dropped, repeated, reordered
 * or altered event.
 * @param events The twin's events of both kinds in log (sequence) order, from `start.sequence + 1` on.
 * @param expectedHead The on-chain `logHeadOf(twinId)` (or the head the chain should reach).
 * @param start Where the events take over (a checkpoint); by default the empty log.
 */
export function verifyUpdateChain(
  events: readonly LogEntryLike[],
  expectedHead: LogHeadLike,
  start: LogHeadLike = { sequence: 0n, head: ZERO_HEAD },
): UpdateChainVerification {
  let sequence = unsigned(start.sequence, UINT64_MAX, "start.sequence");
  let head = hexlify(fixedBytes(start.head, 24, "start.head"));
  const twinId = events.length > 0 ? hexlify(fixedBytes(events[0].twinId, 32, "events[0].twinId")) : undefined;
  for (const [index, event] of events.entries()) {
    if (hexlify(fixedBytes(event.twinId, 32, `events[${index}].twinId`)) !== twinId) {
      return fault("TWIN_MISMATCH", index, `event ${index} belongs to another twin`);
    }
    const eventSequence = unsigned(event.sequence, UINT64_MAX, `events[${index}].sequence`);
    if (eventSequence !== sequence + 1n) {
      return fault(
        "SEQUENCE_MISMATCH",
        index,
        `event ${index} has sequence ${eventSequence}, expected ${sequence + 1n}`,
      );
    }
    const recomputed = stepOf(head, event, eventSequence);
    if (recomputed !== hexlify(fixedBytes(event.head, 24, `events[${index}].head`))) {
      return fault("HEAD_MISMATCH", index, `event ${index} (sequence ${eventSequence}) does not hash to its head`);
    }
    sequence = eventSequence;
    head = recomputed;
  }
  const expectedSequence = unsigned(expectedHead.sequence, UINT64_MAX, "expectedHead.sequence");
  const expected = hexlify(fixedBytes(expectedHead.head, 24, "expectedHead.head"));
  if (sequence !== expectedSequence || head !== expected) {
    return fault(
      "EXPECTED_HEAD_MISMATCH",
      events.length,
      `the events end at sequence ${sequence}, the expected head is at sequence ${expectedSequence}` +
        (sequence === expectedSequence ? " with another head" : ""),
    );
  }
  return { valid: true, sequence, head };
}

function fault(fault: UpdateChainFault, index: number, message: string): UpdateChainVerification {
  return { valid: false, fault, index, message };
}

// ------------------------------------------------------------------------------------------------------------
// Reading batches
// ------------------------------------------------------------------------------------------------------------

/** The leaf encoding of a reading tree, as `verifyReading` hashes it. */
export const READING_LEAF_ENCODING: readonly ["bytes32", "uint64"] = ["bytes32", "uint64"];
/** The same types parsed once (ethers parses type strings on every `encode` otherwise). */
const READING_LEAF_PARAMS = READING_LEAF_ENCODING.map((type) => ParamType.from(type));

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
  const [hash, time] = leafValue(readingHash, timestamp, "reading");
  return keccak256(keccak256(coder.encode(READING_LEAF_PARAMS, [hash, time])));
}

/**
 * The leaf values of a tree, each once: the `index`-th item's value, refused with `duplicateCode` when it repeats an
 * earlier one (a repeated leaf would make two items share one proof). Reading and record trees both build on it.
 */
function uniqueLeaves<T, V extends readonly unknown[]>(
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
function loadTree<V extends unknown[]>(
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
 * Builds the StandardMerkleTree over `(bytes32 readingHash, uint64 timestamp)` whose root `anchorBatch` anchors.
 * @throws AnchorError `ANCHOR_EMPTY_BATCH` for no readings, `ANCHOR_DUPLICATE_READING` for a repeated reading,
 * `ANCHOR_INVALID_INPUT` for a malformed one.
 */
export function buildReadingTree(readings: readonly Reading[]): ReadingTree {
  if (readings.length === 0) throw new AnchorError("ANCHOR_EMPTY_BATCH", "a reading batch needs at least one reading");
  const values = uniqueLeaves(
    readings,
    (reading, index): ReadingLeaf => leafValue(reading.readingHash, reading.timestamp, `readings[${index}]`),
    "ANCHOR_DUPLICATE_READING",
    "readings",
  );
  return StandardMerkleTree.of(values, [...READING_LEAF_ENCODING]);
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
  const value = leafValue(readingHash, timestamp, "reading");
  let index: number;
  try {
    index = tree.leafLookup(value);
  } catch (cause) {
    throw new AnchorError("ANCHOR_READING_NOT_FOUND", "the reading is not in this tree", { cause });
  }
  return tree.getProof(index);
}

/** The off-chain twin of `verifyReading`'s proof check (without the anchored time range). */
export function verifyReadingProof(
  merkleRoot: BytesLike,
  readingHash: BytesLike,
  timestamp: bigint | number,
  proof: readonly BytesLike[],
): boolean {
  const root = hexlify(fixedBytes(merkleRoot, 32, "merkleRoot")).toLowerCase();
  const siblings = proof.map((node, i) => hexlify(fixedBytes(node, 32, `proof[${i}]`)));
  // The StandardMerkleTree leaf (readingLeaf), then its sorted-pair path: what StandardMerkleTree.verify computes.
  return processProof(readingLeaf(readingHash, timestamp), siblings) === root;
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

// ------------------------------------------------------------------------------------------------------------
// Record batches
// ------------------------------------------------------------------------------------------------------------

/** The leaf encoding of a record tree, as `verifyRecord` hashes it: `(category, contentHash, cidHash)`. */
export const RECORD_LEAF_ENCODING: readonly ["uint32", "bytes32", "bytes32"] = ["uint32", "bytes32", "bytes32"];
const RECORD_LEAF_PARAMS = RECORD_LEAF_ENCODING.map((type) => ParamType.from(type));

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
  // noble's keccak on the bytes (ethers' keccak256 takes the same input through its older, slower copy of noble)
  return bytes instanceof Uint8Array ? "0x" + bytesToHex(keccak_256(bytes)) : keccak256(bytes);
}

/**
 * The leaf hash of a record, as both the tree and `verifyRecord` compute it:
 * `keccak256(bytes.concat(keccak256(abi.encode(category, contentHash, cidHash))))`.
 */
export function recordLeaf(category: bigint | number, contentHash: BytesLike, cidHash: BytesLike): string {
  const values = recordValue(category, contentHash, cidHash, "record");
  return keccak256(keccak256(coder.encode(RECORD_LEAF_PARAMS, values)));
}

/**
 * Builds the StandardMerkleTree over `(uint32 category, bytes32 contentHash, bytes32 cidHash)` whose root
 * `anchorRecords` anchors; pass `recordsAnchorOf(tree)` to it.
 * @throws AnchorError `ANCHOR_EMPTY_BATCH` for no records, `ANCHOR_DUPLICATE_RECORD` for a repeated record,
 * `ANCHOR_INVALID_INPUT` for a malformed one (a category that is not exactly one defined bit among them).
 */
export function buildRecordTree(records: readonly RecordInput[]): RecordTree {
  if (records.length === 0) throw new AnchorError("ANCHOR_EMPTY_BATCH", "a record batch needs at least one record");
  const values = uniqueLeaves(
    records,
    (record, index): RecordLeaf => recordInputValue(record, `records[${index}]`),
    "ANCHOR_DUPLICATE_RECORD",
    "records",
  );
  // the same tree as StandardMerkleTree.of(values, RECORD_LEAF_ENCODING), each leaf hashed once on its bytes
  return standardMerkleTreeOf(values, RECORD_LEAF_ENCODING, values.map(recordLeafHash));
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
  const root = hexlify(fixedBytes(recordsRoot, 32, "recordsRoot")).toLowerCase();
  const siblings = proof.map((node, i) => hexlify(fixedBytes(node, 32, `proof[${i}]`)));
  return processProof(recordLeaf(category, contentHash, cidHash), siblings) === root;
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

// ------------------------------------------------------------------------------------------------------------
// Input checks
// ------------------------------------------------------------------------------------------------------------

function leafValue(readingHash: BytesLike, timestamp: bigint | number, name: string): ReadingLeaf {
  return [
    hexlify(fixedBytes(readingHash, 32, `${name}.readingHash`)),
    unsigned(timestamp, UINT64_MAX, `${name}.timestamp`).toString(),
  ];
}

function fixedBytes(value: BytesLike, length: number, name: string): BytesLike {
  if (!(value instanceof Uint8Array) && !isHexString(value, true)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is not 0x-prefixed, even-length hex or bytes`);
  }
  if (dataLength(value) !== length) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is ${dataLength(value)} bytes, expected ${length}`);
  }
  return value;
}

const BYTES32_HEX = /^0x[0-9a-fA-F]{64}$/;

/** A 32-byte value as lower-case 0x hex (`hexlify` of it), without ethers' parse for hex that is already that. */
function bytes32Hex(value: BytesLike, name: string): string {
  return typeof value === "string" && BYTES32_HEX.test(value)
    ? value.toLowerCase()
    : hexlify(fixedBytes(value, 32, name));
}

function cidBytes(cid: BytesLike): BytesLike {
  if (!(cid instanceof Uint8Array) && !isHexString(cid, true)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", "cid is not 0x-prefixed hex or bytes (pass the CID's bytes)");
  }
  const length = dataLength(cid);
  if (length === 0 || length > MAX_CID_LENGTH) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `cid is ${length} bytes, expected 1 to ${MAX_CID_LENGTH}`);
  }
  return cid;
}

function unsigned(value: bigint | number, max: bigint, name: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is not a safe integer`);
  }
  const big = BigInt(value);
  if (big < 0n || big > max) throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is out of range`);
  return big;
}

function address(value: string, name: string): string {
  try {
    return getAddress(value);
  } catch (cause) {
    throw new AnchorError("ANCHOR_INVALID_INPUT", `${name} is not an address`, { cause });
  }
}
