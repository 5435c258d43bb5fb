import { proveAllRecords } from "../chain/anchors";
import { PipelineError } from "./errors";
import type { RecordAnchor } from "./reader";
import { recordTreeOf } from "./record-anchoring";
import type { RecordBatchEntry, RecordEntry, TwinIndex } from "./twin-index";

/**
 * The migration of a `twinledger-pipeline-twin/1` index to /2 (see twin-index.ts): /1 kept each record's whole
 * anchor, its Merkle proof included; /2 keeps one entry per record batch and, per record, a reference to its leaf.
 *
 * Each batch's tree is rebuilt from its records' entries (in the order they were indexed, which is the order the
 * batch was anchored in) and must give the stored root and every stored proof; otherwise the migration throws
 * `INDEX_CORRUPT` and nothing is replaced (the caller writes /2 documents only once every one is migrated).
 */

/** The format name of the indexes written before record batches were stored once. */
export const FORMAT_V1 = "twinledger-pipeline-twin/1";
const FORMAT_V2: TwinIndex["format"] = "twinledger-pipeline-twin/2";

/** A record entry as /1 stored it: the whole anchor with its proof, and the source. */
export interface RecordEntryV1 {
  readonly key: string;
  readonly category: number;
  readonly readingCount: number;
  readonly anchor: RecordAnchor;
  readonly source: string;
  readonly digest?: string;
}

/** An index as /1 stored it. */
export type TwinIndexV1 = Omit<TwinIndex, "format" | "records" | "recordBatches"> & {
  readonly format: typeof FORMAT_V1;
  readonly records: RecordEntryV1[];
};

/** The /2 form of a /1 index, every record batch checked against its anchored root and proofs. */
export function migratedFromV1(old: TwinIndexV1): TwinIndex {
  const recordBatches: RecordBatchEntry[] = [];
  const members: RecordEntryV1[][] = [];
  const batchOf = new Map<string, number>();
  const records: RecordEntry[] = old.records.map((entry) => {
    const anchor = entry.anchor;
    if (anchor.kind !== "records") return { ...entry, anchor };
    const id = `${anchor.sequence}/${anchor.recordsRoot.toLowerCase()}`;
    let batch = batchOf.get(id);
    if (batch === undefined) {
      batch = recordBatches.length;
      batchOf.set(id, batch);
      members.push([]);
      recordBatches.push({
        sequence: anchor.sequence,
        recordsRoot: anchor.recordsRoot,
        source: anchor.source,
        leafCount: 0,
        blockNumber: anchor.blockNumber,
        transactionHash: anchor.transactionHash,
      });
    }
    const leaf = members[batch].push(entry) - 1;
    const { key, category, readingCount, digest } = entry;
    return {
      key,
      category,
      readingCount,
      anchor: { kind: "records", batch, leaf, contentHash: anchor.contentHash, cid: anchor.cid },
      ...(digest !== undefined ? { digest } : {}),
    };
  });
  members.forEach((entries, batch) => {
    recordBatches[batch] = { ...recordBatches[batch], leafCount: entries.length };
    checkBatch(old.twinId, batch, recordBatches[batch], entries);
  });
  const { format: _format, records: _records, ...rest } = old;
  return { ...rest, format: FORMAT_V2, records, recordBatches };
}

/** The batch's tree, rebuilt from its /1 entries, gives the stored root and each stored proof. */
function checkBatch(twinId: string, batch: number, entry: RecordBatchEntry, members: readonly RecordEntryV1[]): void {
  const corrupt = (what: string, cause?: unknown) =>
    new PipelineError(
      "INDEX_CORRUPT",
      `the index of twin ${twinId} (format /1) does not migrate: record batch ${batch} ${what}; nothing was replaced`,
      { cause },
    );
  const anchors = members.map((m) => m.anchor as Extract<RecordAnchor, { kind: "records" }>);
  let tree;
  try {
    tree = recordTreeOf(
      anchors.map((a, i) => ({ category: members[i].category, contentHash: a.contentHash, cid: a.cid })),
    );
  } catch (cause) {
    throw corrupt("has records that make no tree", cause);
  }
  if (tree.root.toLowerCase() !== entry.recordsRoot.toLowerCase()) throw corrupt("does not give its anchored root");
  const proofs = proveAllRecords(tree);
  anchors.forEach((anchor, i) => {
    const same =
      anchor.category === members[i].category &&
      anchor.source === entry.source &&
      anchor.proof.length === proofs[i].length &&
      anchor.proof.every((node, j) => node.toLowerCase() === proofs[i][j]);
    if (!same) throw corrupt(`leaf ${i} does not give its stored proof`);
  });
}
