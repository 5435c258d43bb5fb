/**
 * What off-chain code computes exactly as TwinUpdateLog does, in one place, by responsibility:
 *
 * - anchors/hash-chain.ts, the update hash chain: `nextHead` is the step of `recordUpdate`, `nextRecordsHead` the
 *   step of `anchorRecords`; `verifyUpdateChain` rebuilds the chain from `UpdateRecorded` and `RecordsAnchored`
 *   events and checks it against the on-chain `logHeadOf`;
 * - anchors/reading-tree.ts, reading batches: `buildReadingTree` builds the StandardMerkleTree whose root
 *   `anchorBatch` anchors, `proveReading` gives the proof that `verifyReading` accepts, `readingLeaf` is the leaf
 *   both hash;
 * - anchors/record-tree.ts, record batches: `buildRecordTree` builds the StandardMerkleTree whose root
 *   `anchorRecords` anchors (one per EMR ingest), `proveRecord` gives the proof that `verifyRecord` accepts,
 *   `recordLeaf` is the leaf both hash;
 * - anchors/inputs.ts and anchors/trees.ts, what they share: `AnchorError`, the input checks, the tree helpers.
 *
 * Only hashes, content ids, sequence numbers and times pass through here, never health data.
 */
export { AnchorError, MAX_CID_LENGTH, type AnchorErrorCode } from "./anchors/inputs";
export * from "./anchors/hash-chain";
export * from "./anchors/reading-tree";
export * from "./anchors/record-tree";
