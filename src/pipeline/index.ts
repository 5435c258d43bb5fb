/**
 * The custodian's pipeline: ingest → encrypt → store by content id → anchor on chain → twin
 * engine → commit, with its own persistent index; the `TwinDataReader` the gateway reads through;
 * and the reader-side verification of anchors against the chain.
 */
export type {
  BatchAnchor,
  ProvenReading,
  ProvenRecord,
  ReadingsQuery,
  RecordAnchor,
  RecordsAnchor,
  StateAnchor,
  TwinDataReader,
  TwinHolding,
  UpdateAnchor,
} from "./reader";
export { PipelineError, PipelineErrorCode } from "./errors";
export {
  newReadingSalt,
  READING_COMMITMENT_ENCODING,
  READING_VALUE_SCALE,
  readingCommitment,
  readingTimestampSeconds,
  scaledReadingValue,
} from "./reading-commitment";
export {
  BATCH_BYTES_PER_READING,
  batchPlaintextBytes,
  DEFAULT_BATCH_POLICY,
  planBatches,
  prepareBatch,
  ReadingBatcher,
  resolveBatchPolicy,
  splitIntoBatches,
  type BatchPolicy,
  type PendingReadings,
  type PreparedBatch,
} from "./reading-batcher";
export { READING_BATCH_FORMAT, READING_INTAKE_FORMAT, RECORD_PADDING, type SaltedReading } from "./blob-codec";
export { TWIN_INDEX_FORMAT } from "./twin-index";
export { TwinPipeline } from "./twin-pipeline";
export { DeviceFlagFollower, type DeviceFlagUpdate } from "./device-flags";
export { ReaderSync, type ReaderSyncOptions, type ReaderSyncReport } from "./reader-sync";
export {
  anchorRecordBatch,
  recordsAnchorIn,
  recordTreeOf,
  type AnchoredRecords,
  type RecordToAnchor,
} from "./record-anchoring";
export type {
  BatchSummary,
  EmrIngestSummary,
  FlushDueResult,
  FlushSummary,
  JournaledFees,
  JournaledReplacement,
  JournaledSend,
  PendingAnchor,
  PendingBatch,
  PendingBatches,
  PendingRecord,
  PipelineErasure,
  ReaderGrantSummary,
  TwinAnchors,
  TwinPipelineOptions,
  VersionOutcome,
  WearableIngestSummary,
} from "./pipeline-types";
export type { FeeBumpPolicy } from "./fee-bump";
export {
  verifyReadingAnchor,
  VerifiedAnchors,
  anchoredBatch,
  anchoredRecordBatch,
  type AnchoredBatch,
  type AnchoredRecordBatch,
  verifyRecordAnchor,
  verifyStateAnchor,
  type AnchorFault,
  type AnchorVerification,
  type UpdateLogAccess,
  type VerifyOptions,
} from "./verify";
export type { RecoveryOutcome } from "./recovery";
