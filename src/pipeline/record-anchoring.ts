import { getAddress, type Signer, type TransactionReceipt } from "ethers";
import { buildRecordTree, proveAllRecords, proveRecord, recordsAnchorOf, type RecordTree } from "../chain/anchors";
import { parseCid } from "../store";
import type { TwinUpdateLog } from "../../typechain-types";
import { PipelineError } from "./errors";
import { NonceManager } from "./nonce-manager";
import { sendOnce, type AnchorSender } from "./transactions";
import type { RecordsAnchor } from "./reader";

/**
 * Record batches: one EMR ingest is anchored by one `anchorRecords` transaction, whatever its size. The records'
 * leaves `(category, contentHash, keccak256(cid bytes))` make a StandardMerkleTree (src/chain/anchors.ts
 * `buildRecordTree`); its root and the OR of the categories are anchored from the source signer, and each record
 * gets a {@link RecordsAnchor} with its own proof (in the ingest's summary; the index keeps no proof, see
 * record-proofs.ts).
 */

/** A record stored in the vault and about to be anchored. */
export interface RecordToAnchor {
  readonly category: number;
  readonly contentHash: string;
  /** The envelope's CIDv1 (base32 string). */
  readonly cid: string;
}

/** What anchoring a batch of records gave: one anchor per record, in the order given, and the receipt. */
export interface AnchoredRecords {
  readonly anchors: readonly RecordsAnchor[];
  readonly receipt: TransactionReceipt;
}

/** The last trees built, by the batch they were built from (see `recordTreeOf`). */
const builtTrees = new WeakMap<
  readonly RecordToAnchor[],
  { readonly records: RecordToAnchor[]; readonly tree: RecordTree }
>();

/**
 * The record tree of a batch, from the records as anchored (the leaf holds keccak256 of the cid's bytes).
 * @dev An ingest asks for its batch's tree three times (the journal entry before the send, the anchor, then the index
 * entry, see record-proofs.ts `recordBatchOf`): the tree is kept by the batch array, and given again only while that array still holds the same record objects (the records
 * are read-only values, never changed in place), so a 20,000-record batch is hashed once.
 */
export function recordTreeOf(records: readonly RecordToAnchor[]): RecordTree {
  const built = builtTrees.get(records);
  if (built !== undefined && sameRecords(built.records, records)) return built.tree;
  const tree = buildRecordTree(
    records.map((record) => ({
      category: record.category,
      contentHash: record.contentHash,
      cid: parseCid(record.cid).bytes,
    })),
  );
  builtTrees.set(records, { records: [...records], tree });
  return tree;
}

function sameRecords(a: readonly RecordToAnchor[], b: readonly RecordToAnchor[]): boolean {
  return a.length === b.length && a.every((record, i) => record === b[i]);
}

/**
 * The anchor of one record of a tree anchored at `batch`; `proof` when the caller has it already (`proveAllRecords`
 * gives every record's at once), else it is looked up in the tree.
 */
export function recordsAnchorIn(
  tree: RecordTree,
  record: RecordToAnchor,
  batch: Pick<RecordsAnchor, "sequence" | "source" | "blockNumber" | "transactionHash">,
  proof?: readonly string[],
): RecordsAnchor {
  return {
    kind: "records",
    sequence: batch.sequence,
    recordsRoot: tree.root,
    source: batch.source,
    category: record.category,
    contentHash: record.contentHash,
    cid: record.cid,
    proof: [
      ...(proof ??
        proveRecord(tree, {
          category: record.category,
          contentHash: record.contentHash,
          cid: parseCid(record.cid).bytes,
        })),
    ],
    blockNumber: batch.blockNumber,
    transactionHash: batch.transactionHash,
  };
}

/**
 * Anchor a batch of records with one `anchorRecords(twinId, root, categories)` from `sourceSigner`, and read the
 * batch's sequence from its `RecordsAnchored` event. Throws (the ethers error, or `ANCHOR_FAILED` for a reverted
 * transaction or a receipt without the event): then nothing of the batch is anchored. `nonces` orders it among the
 * other transactions of the source account (a fresh manager when absent); `sender` sends and waits (the pipeline's
 * journals and replaces it while stuck, recovery.ts `journaledRecordsSender`).
 */
export async function anchorRecordBatch(
  updateLog: TwinUpdateLog,
  sourceSigner: Signer,
  twinId: string,
  records: readonly RecordToAnchor[],
  nonces: NonceManager = new NonceManager(),
  sender: AnchorSender = sendOnce,
): Promise<AnchoredRecords> {
  const tree = recordTreeOf(records);
  const { recordsRoot, categories } = recordsAnchorOf(tree);
  const source = getAddress(await sourceSigner.getAddress());
  const log = updateLog.connect(sourceSigner);
  const receipt = await sender(
    sourceSigner,
    (nonce, fees) => log.anchorRecords(twinId, recordsRoot, categories, { nonce, ...fees }),
    nonces,
  );
  if (receipt === null || receipt.status !== 1) {
    throw new PipelineError("ANCHOR_FAILED", `anchorRecords for twin ${twinId} did not succeed`);
  }
  const sequence = sequenceOf(updateLog, receipt, twinId, recordsRoot);
  const batch = { sequence, source, blockNumber: receipt.blockNumber, transactionHash: receipt.hash };
  // The tree keeps the records in the order given, so the i-th proof is the i-th record's.
  const proofs = proveAllRecords(tree);
  return { anchors: records.map((record, i) => recordsAnchorIn(tree, record, batch, proofs[i])), receipt };
}

/** The sequence of the `RecordsAnchored` event of the twin and root in a receipt. */
function sequenceOf(
  updateLog: TwinUpdateLog,
  receipt: TransactionReceipt,
  twinId: string,
  recordsRoot: string,
): string {
  for (const entry of receipt.logs) {
    let parsed;
    try {
      parsed = updateLog.interface.parseLog({ topics: [...entry.topics], data: entry.data });
    } catch {
      continue;
    }
    if (
      parsed?.name === "RecordsAnchored" &&
      String(parsed.args.twinId).toLowerCase() === twinId.toLowerCase() &&
      String(parsed.args.recordsRoot).toLowerCase() === recordsRoot.toLowerCase()
    ) {
      return BigInt(parsed.args.sequence as bigint).toString();
    }
  }
  throw new PipelineError("ANCHOR_FAILED", `transaction ${receipt.hash} anchored no record batch for twin ${twinId}`);
}
