import { LRUCache } from "lru-cache";
import type { RecordTree } from "../chain/anchors";
import { PipelineError } from "./errors";
import type { PendingRecord } from "./pipeline-types";
import type { RecordAnchor, RecordsAnchor } from "./reader";
import { recordTreeOf, type RecordToAnchor } from "./record-anchoring";
import type { RecordBatchEntry, RecordEntry, RecordLeafRef, TwinIndex } from "./twin-index";

/**
 * The records' anchors with their proofs, computed when asked: the index keeps no proof (see twin-index.ts, format
 * /2), only each record's batch and leaf. A batch's tree is rebuilt once from its records' entries, checked against
 * the anchored root, and kept (its nodes and each leaf's place in them, not the tree object) in a cache bounded by
 * {@link PROOF_CACHE_NODES} nodes per pipeline; a proof is then a walk from the leaf to the root, no hashing.
 */

/** The most tree nodes kept per pipeline (a 20,000-record batch has 39,999; each a 66-character hex string). */
export const PROOF_CACHE_NODES = 400_000;

/** A record batch's tree as the proofs need it. */
interface BatchNodes {
  readonly root: string;
  /** The StandardMerkleTree's node array (root first, children of i at 2i+1 and 2i+2). */
  readonly nodes: readonly string[];
  /** By leaf (the record's position in its batch): its node's index in `nodes`. */
  readonly treeIndex: Int32Array;
}

/** The caches, one per owner (the pipeline's context): twins of two pipelines never share a tree. */
const caches = new WeakMap<object, LRUCache<string, BatchNodes>>();

function cacheOf(owner: object): LRUCache<string, BatchNodes> {
  let cache = caches.get(owner);
  if (cache === undefined) {
    cache = new LRUCache<string, BatchNodes>({
      maxSize: PROOF_CACHE_NODES,
      sizeCalculation: (batch) => Math.max(1, batch.nodes.length),
    });
    caches.set(owner, cache);
  }
  return cache;
}

function cacheKey(index: TwinIndex, batch: number): string {
  return `${index.twinId}/${batch}/${index.recordBatches[batch]?.recordsRoot ?? ""}`;
}

function nodesOf(tree: RecordTree): BatchNodes {
  const { tree: nodes, values } = tree.dump();
  return { root: tree.root, nodes, treeIndex: Int32Array.from(values, (v) => v.treeIndex) };
}

/** A record batch about to be indexed: its entry and one entry per record (see {@link recordBatchOf}). */
export interface IndexedRecordBatch {
  readonly batch: RecordBatchEntry;
  readonly entries: readonly RecordEntry[];
  readonly tree: RecordTree;
}

/**
 * The index entries of a record batch found anchored at `anchored`: one {@link RecordBatchEntry}, and one entry per
 * record referring to its leaf (in the order anchored) in what will be the index's next batch. Nothing is changed
 * until {@link addRecordBatch}.
 */
export function recordBatchOf(
  index: TwinIndex,
  records: readonly PendingRecord[],
  anchored: Pick<RecordsAnchor, "sequence" | "source" | "blockNumber" | "transactionHash">,
): IndexedRecordBatch {
  const tree = recordTreeOf(records); // built by the journal and the anchor already
  const position = index.recordBatches.length;
  const entries = records.map((record, leaf): RecordEntry => ({
    key: record.key,
    category: record.category,
    readingCount: record.readingCount,
    anchor: { kind: "records", batch: position, leaf, contentHash: record.contentHash, cid: record.cid },
    ...(record.digest !== undefined ? { digest: record.digest } : {}),
  }));
  const batch: RecordBatchEntry = {
    sequence: anchored.sequence,
    recordsRoot: tree.root,
    source: anchored.source,
    leafCount: records.length,
    blockNumber: anchored.blockNumber,
    transactionHash: anchored.transactionHash,
  };
  return { batch, entries, tree };
}

/**
 * Append a batch made by {@link recordBatchOf} to the index (in memory: the caller saves), and keep its tree in the
 * owner's cache, so that no proof of a fresh ingest needs the tree rebuilt.
 */
export function addRecordBatch(owner: object, index: TwinIndex, indexed: IndexedRecordBatch): void {
  const position = index.recordBatches.push(indexed.batch) - 1;
  if (indexed.entries.some((entry) => entry.anchor.kind !== "records" || entry.anchor.batch !== position)) {
    throw new PipelineError("INDEX_CORRUPT", `a record batch of twin ${index.twinId} was indexed out of turn`);
  }
  for (const entry of indexed.entries) index.records.push(entry);
  cacheOf(owner).set(cacheKey(index, position), nodesOf(indexed.tree));
}

/** The anchor (with its proof) of each entry, in the order given. Throws `INDEX_CORRUPT` for a batch that is not whole. */
export function recordAnchorsOf(owner: object, index: TwinIndex, entries: readonly RecordEntry[]): RecordAnchor[] {
  const cache = cacheOf(owner);
  const trees = new Map<number, BatchNodes>();
  const missing = new Set<number>();
  for (const entry of entries) {
    if (entry.anchor.kind !== "records" || trees.has(entry.anchor.batch)) continue;
    const cached = cache.get(cacheKey(index, entry.anchor.batch));
    if (cached !== undefined) trees.set(entry.anchor.batch, cached);
    else missing.add(entry.anchor.batch);
  }
  for (const [batch, nodes] of rebuiltBatches(index, missing)) {
    trees.set(batch, nodes);
    cache.set(cacheKey(index, batch), nodes);
  }
  return entries.map((entry) => {
    const anchor = entry.anchor;
    if (anchor.kind !== "records") return anchor;
    return anchorOf(index.recordBatches[anchor.batch], entry.category, anchor, trees.get(anchor.batch) as BatchNodes);
  });
}

/** The record batch `entries` are, whole and in leaf order (as an EMR ingest applies them), or undefined. */
export function wholeBatchOf(index: TwinIndex, entries: readonly RecordEntry[]): number | undefined {
  const first = entries[0]?.anchor;
  if (first?.kind !== "records" || index.recordBatches[first.batch]?.leafCount !== entries.length) return undefined;
  const whole = entries.every(
    ({ anchor }, i) => anchor.kind === "records" && anchor.batch === first.batch && anchor.leaf === i,
  );
  return whole ? first.batch : undefined;
}

/** Each record batch's entries in leaf order, by batch position (one pass over the index). */
export function recordsByBatch(index: TwinIndex): Map<number, RecordEntry[]> {
  const byBatch = new Map<number, RecordEntry[]>();
  for (const entry of index.records) {
    if (entry.anchor.kind !== "records") continue;
    let list = byBatch.get(entry.anchor.batch);
    if (list === undefined) byBatch.set(entry.anchor.batch, (list = []));
    list[entry.anchor.leaf] = entry;
  }
  return byBatch;
}

/** The sequence of a record's anchor (its batch's, for a batch's record). */
export function recordSequence(index: TwinIndex, entry: RecordEntry): string {
  const anchor = entry.anchor;
  return anchor.kind === "records" ? (index.recordBatches[anchor.batch]?.sequence ?? "0") : anchor.sequence;
}

function anchorOf(batch: RecordBatchEntry, category: number, ref: RecordLeafRef, tree: BatchNodes): RecordsAnchor {
  const proof: string[] = [];
  for (let i = tree.treeIndex[ref.leaf]; i > 0; i = Math.floor((i - 1) / 2)) {
    proof.push(tree.nodes[i % 2 === 1 ? i + 1 : i - 1]);
  }
  return {
    kind: "records",
    sequence: batch.sequence,
    recordsRoot: batch.recordsRoot,
    source: batch.source,
    category,
    contentHash: ref.contentHash,
    cid: ref.cid,
    proof,
    blockNumber: batch.blockNumber,
    transactionHash: batch.transactionHash,
  };
}

/** The trees of the given batches, rebuilt from their records' entries (one pass over the index) and checked. */
function rebuiltBatches(index: TwinIndex, wanted: ReadonlySet<number>): Map<number, BatchNodes> {
  const out = new Map<number, BatchNodes>();
  if (wanted.size === 0) return out;
  const leaves = new Map<number, (RecordToAnchor | undefined)[]>();
  for (const batch of wanted) {
    const entry = index.recordBatches[batch];
    if (entry === undefined) throw corrupt(index, batch, "is not in the index");
    leaves.set(batch, new Array<RecordToAnchor | undefined>(entry.leafCount));
  }
  for (const entry of index.records) {
    const anchor = entry.anchor;
    if (anchor.kind !== "records") continue;
    const slots = leaves.get(anchor.batch);
    if (slots === undefined) continue;
    if (anchor.leaf >= slots.length || slots[anchor.leaf] !== undefined) {
      throw corrupt(index, anchor.batch, `has a record at leaf ${anchor.leaf} it cannot hold`);
    }
    slots[anchor.leaf] = { category: entry.category, contentHash: anchor.contentHash, cid: anchor.cid };
  }
  for (const [batch, slots] of leaves) {
    const records = [...slots];
    if (records.some((record) => record === undefined)) throw corrupt(index, batch, "misses records");
    let nodes: BatchNodes;
    try {
      nodes = nodesOf(recordTreeOf(records as RecordToAnchor[]));
    } catch (cause) {
      throw corrupt(index, batch, "has records that make no tree", cause);
    }
    if (nodes.root !== index.recordBatches[batch].recordsRoot.toLowerCase()) {
      throw corrupt(index, batch, "does not give its anchored root");
    }
    out.set(batch, nodes);
  }
  return out;
}

function corrupt(index: TwinIndex, batch: number, what: string, cause?: unknown): PipelineError {
  return new PipelineError("INDEX_CORRUPT", `record batch ${batch} of twin ${index.twinId} ${what}`, { cause });
}
