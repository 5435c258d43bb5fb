import type { Signer } from "ethers";
import type { PrivateKeyLike, PublicKeyLike } from "../crypto";
import type { RecordVault } from "../store";
import type { TwinAlert, TwinOptions, TwinVersion } from "../twin";
import type { DeviceRegistry, TwinRegistry, TwinUpdateLog } from "../../typechain-types";
import type { PipelineError } from "./errors";
import type { FeeBumpPolicy } from "./fee-bump";
import type { BatchPolicy } from "./reading-batcher";
import type { RecordAnchor, RecordsAnchor, StateAnchor } from "./reader";
import type { IntakeEntry } from "./twin-index";

/** The options of `TwinPipeline` and what its operations return. */

/** How a custodian service runs its pipeline. */
export interface TwinPipelineOptions {
  /** The update log, connected to any runner that can read (transactions are sent by the signers given per call). */
  readonly updateLog: TwinUpdateLog;
  /** The registry; read from `updateLog.registry()` if absent. */
  readonly registry?: TwinRegistry;
  /** Where the encrypted blobs and the wrapped keys live. */
  readonly vault: RecordVault;
  /** The service's reader key: every record is sealed for it, and it opens them to answer queries. */
  readonly custodianKey: PrivateKeyLike;
  /** The twin's custodian account on chain: commits each twin version (`commitTwinState`). */
  readonly custodianSigner: Signer;
  /**
   * More accounts of the custodian, when twins are held by several of its accredited accounts: each twin's versions
   * are committed from the account that is its custodian on chain. Every account's nonces are managed by the
   * pipeline (a per-account sequence shared by all twins, re-synced with the node after a failed send).
   */
  readonly custodianSigners?: readonly Signer[];
  /** The patient's public key of a twin: every record is sealed for the patient too. */
  readonly patientPublicKey: (twinId: string) => PublicKeyLike | Promise<PublicKeyLike>;
  /** The folder of the pipeline's own index (one JSON file per twin), next to the blob and key stores. */
  readonly indexFolder: string;
  /** Twin engine tuning; part of every state root, so keep it the same across restarts. */
  readonly engine?: TwinOptions;
  readonly batchPolicy?: Partial<BatchPolicy>;
  /** Bound on the reading batches' trees kept for proofs, in leaves, all twins together (default 100,000). */
  readonly readingTreeCacheLeaves?: number;
  /** The device account that anchors batches when a flush is not given one (e.g. after a restart). */
  readonly deviceSigner?: Signer;
  /** The clock of the batch policy (epoch ms); `Date.now` by default. */
  readonly clock?: () => number;
  /** fsync each index write (default true). */
  readonly fsync?: boolean;
  /**
   * A PostgreSQL URL: the pipeline's index lives there (shared by the service's processes) instead of
   * `<indexFolder>/index.sqlite`. `TwinPipeline.close()` closes its connections.
   */
  readonly databaseUrl?: string;
  /**
   * Test hook: called once an EMR ingest's blobs are stored and its pending anchor journaled, right before the
   * `anchorRecords` is sent. A fault test makes it throw, hang or kill the process there (a crash between store and
   * anchor); whatever it throws propagates as is, with nothing swept (the journal says what to do on restart).
   */
  readonly beforeAnchor?: (pending: PendingAnchor) => void | Promise<void>;
  /** DeviceRegistry, whose flags `TwinPipeline.refreshDeviceFlags` reads (and the block it was deployed in). */
  readonly deviceRegistry?: DeviceRegistry;
  readonly deviceRegistryFromBlock?: number;
  /**
   * Test hook: as `beforeAnchor`, once a flush's batch blobs are stored and journaled with the first batch's nonce,
   * right before that `anchorBatch` is sent; what it throws propagates as is, with nothing resolved.
   */
  readonly beforeBatchAnchor?: (pending: PendingBatches) => void | Promise<void>;
  /**
   * How long resolving a journaled anchor waits for its transaction while it is pending in the node's mempool (ms,
   * default 30 000). Still pending after that: the journal stays and the write fails with `ANCHOR_FAILED`; the twin's
   * next write asks again. Never is a second transaction sent while the first may still be mined.
   */
  readonly anchorWaitMs?: number;
  /**
   * An anchor still pending after `anchorWaitMs` (its fee too low for the chain's base fee) is replaced at its nonce by
   * the same call with higher fees (fee-bump.ts): each replacement at least `bumpPercent` (default 12.5, at least 10:
   * nodes refuse less) above the previous send's fees, or the node's suggestion when higher; at most
   * `maxReplacements` (default 3) over the anchor's life; never past `maxFeePerGas` (wei, default 10× the larger
   * of the first send's and the node's current suggestion). Past these, the anchor stays journaled and the write fails with `ANCHOR_FAILED` ("still pending").
   * A replacement needs the sending account's signer: one the pipeline sent from since it was opened, or one of its
   * configured signers; without it, the anchor is only waited for.
   */
  readonly feeBump?: FeeBumpPolicy;
}

/** The fees of one send of an anchor, in wei as decimal strings (the index is JSON). */
export interface JournaledFees {
  readonly maxFeePerGas?: string;
  readonly maxPriorityFeePerGas?: string;
  readonly gasPrice?: string;
}

/** A replacement of an anchor at its nonce: its fees journaled (saved) before it leaves, its hash once the node took it. */
export interface JournaledReplacement {
  readonly fees: JournaledFees;
  hash?: string;
}

/**
 * What a journal knows of an anchor's transaction: its nonce (saved before it leaves), its hash and fees once the node
 * took it, and its replacements at that nonce. Any of these hashes may be the one mined; the chain's anchor event says
 * which (recovery indexes that one).
 */
export interface JournaledSend {
  /** The nonce of the anchor, journaled (saved) before the transaction leaves; absent: never sent (or journaled before nonces were). */
  nonce?: number;
  /** The first send's hash once the node took it (saved with the next index save). */
  transactionHash?: string;
  /** The first send's fees, once the node took it. */
  fees?: JournaledFees;
  /** Replacements with higher fees at the same nonce, oldest first. */
  replacements?: JournaledReplacement[];
}

/** A record stored and journaled, about to be anchored in a record batch. */
export interface PendingRecord {
  readonly key: string;
  readonly category: number;
  readonly cid: string;
  readonly contentHash: string;
  readonly readingCount: number;
  readonly digest?: string;
}

/**
 * A write-ahead entry of the pipeline's index (sealed with it; metadata only, no health data): an `anchorRecords` about
 * to be sent, saved before the send and dropped once its outcome is known. On the next write of the twin or on open,
 * the chain says what happened: anchored (a `RecordsAnchored` of the twin with this root) → the records are indexed
 * and applied; not anchored → their blobs and keys are swept.
 */
export interface PendingAnchor extends JournaledSend {
  readonly kind: "records";
  readonly recordsRoot: string;
  /** The OR of the records' categories, as `anchorRecords` is sent. */
  readonly categories: number;
  /** Checksummed source address that sends it. */
  readonly source: string;
  /** The chain's block number before the send: the event is looked for from there on. */
  readonly fromBlock: number;
  /** The ingest's patient link (see patient-link.ts), set on the twin if the anchor is found. */
  readonly patientLink?: string;
  readonly records: readonly PendingRecord[];
  /**
   * The source's pending transaction count when journaled: its `anchorRecords` has this nonce or a later one, so while
   * the source has transactions from there on in the mempool, the anchor may still be mined (see transactions.ts
   * `sendStateOf`). Absent in journals written before.
   */
  readonly nonceFloor?: number;
}

/** A reading batch stored and journaled, about to be anchored by one `anchorBatch` (metadata only, as in the index). */
export interface PendingBatch extends JournaledSend {
  /** `wearable-batch/<n>`, its record key. */
  readonly key: string;
  readonly cid: string;
  readonly contentHash: string;
  readonly merkleRoot: string;
  readonly count: number;
  readonly from: number;
  readonly to: number;
}

/**
 * The write-ahead entry of a flush: its batches, stored and about to be anchored, and the intakes whose readings they
 * hold (taken out of the twin's pending intakes, so a restart does not batch them again). Resolved per batch against
 * the chain: anchored (a `BatchAnchored` of the twin, the source and the root) → indexed and applied; not anchored and
 * its transaction neither mined nor pending → its readings go back to pending and its blob is swept; pending → waited
 * for. Dropped once every batch is resolved (the intakes' blobs then removed).
 */
export interface PendingBatches {
  readonly kind: "batches";
  /** Checksummed device address that sends them. */
  readonly source: string;
  /** The chain's block number before the sends. */
  readonly fromBlock: number;
  readonly intakes: readonly IntakeEntry[];
  /** The batches not resolved yet. */
  readonly batches: PendingBatch[];
}

/** What committing a new twin version produced. */
export interface VersionOutcome {
  readonly version: TwinVersion;
  /** The on-chain commitment, or null if the commit failed (`commitError` says why; the next commit catches up). */
  readonly state: StateAnchor | null;
  readonly commitError?: PipelineError;
  /** The alerts of the new version (health data: never log them). */
  readonly alerts: readonly TwinAlert[];
  /** The alerts of the new version that the previous version did not have, by id. */
  readonly raisedAlerts: readonly TwinAlert[];
  /** Gas of the commitTwinState transaction (0 if it failed). */
  readonly commitGasUsed: bigint;
}

/** What `ingestEmr` did. */
export interface EmrIngestSummary extends VersionOutcome {
  readonly twinId: string;
  /** Records stored and anchored. */
  readonly records: number;
  /** Readings the records carry (vitals, labs). */
  readonly readings: number;
  /** Resources skipped by type (see `IngestResult.skipped`) and their total. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly skippedCount: number;
  /** Warnings of ingest (paths and messages, never values). */
  readonly warnings: number;
  /** Records the twin already held with the same content: neither stored nor anchored again. */
  readonly unchanged: number;
  /** One per record, all in the ingest's one record batch. */
  readonly anchors: readonly RecordsAnchor[];
  /** Gas of the ingest's one anchorRecords transaction. */
  readonly anchorGasUsed: bigint;
}

/** One anchored batch, without its readings. */
export interface BatchSummary {
  readonly key: string;
  readonly cid: string;
  readonly contentHash: string;
  readonly merkleRoot: string;
  readonly count: number;
  readonly from: number;
  readonly to: number;
  readonly blockNumber: number;
  readonly transactionHash: string;
}

/** What a flush did. */
export interface FlushSummary extends VersionOutcome {
  readonly twinId: string;
  readonly batches: readonly BatchSummary[];
  readonly readings: number;
  /** Gas of the anchorBatch transactions. */
  readonly anchorGasUsed: bigint;
}

/** What `flushDue` did. */
export interface FlushDueResult {
  readonly flushed: readonly FlushSummary[];
  /** Twins whose due batch could not be flushed; their readings stay pending. */
  readonly failed: readonly { readonly twinId: string; readonly error: unknown }[];
}

/** What `ingestWearable` did. */
export interface WearableIngestSummary {
  readonly twinId: string;
  /** Readings received. */
  readonly readings: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** Readings pending after this call (0 if it flushed). */
  readonly pending: number;
  /** The flush this call triggered, if the batch policy made one due. */
  readonly flushed: FlushSummary | null;
}

/** What `grantReader` did. */
export interface ReaderGrantSummary {
  readonly twinId: string;
  /** Checksummed address of the grantee. */
  readonly reader: string;
  /** The categories the grantee now holds: exactly the grant's (0 for a grant already ended). */
  readonly categoryMask: number;
  /** Record blobs re-wrapped for the grantee by this call. */
  readonly records: number;
  /** Batch blobs re-wrapped for the grantee by this call. */
  readonly batches: number;
  /** Wrapped keys withdrawn because the grant no longer covers their category (a narrowed grant). */
  readonly removedKeys: number;
}

/** What `erase` did. */
export interface PipelineErasure {
  readonly twinId: string;
  readonly erasedAt: string;
  readonly destroyedKeys: number;
  readonly deletedBlobs: number;
}

/** Everything anchored for a twin: it stays after erasure (the chain keeps it anyway). */
export interface TwinAnchors {
  /** Record batches' leaves (kind "records"), and v1 updates (kind "update") of indexes written before. */
  readonly records: readonly RecordAnchor[];
  readonly batches: readonly BatchSummary[];
  readonly states: readonly StateAnchor[];
}
