import type { TwinRecord, VitalReading, VitalSignName } from "../fhir/records";
import type { TwinVersion } from "../twin";

/**
 * The boundary between the custodian's pipeline (src/pipeline: ingest → encrypt → store → anchor →
 * twin engine → commit) and the query gateway (src/service). The pipeline implements `TwinDataReader`;
 * the gateway reads through it only after the consent check, and passes the proofs on to the reader.
 */

/**
 * Where a record is anchored by a v1 `recordUpdate` (one transaction per record). The pipeline now anchors records
 * in batches ({@link RecordsAnchor}); indexes and answers written before still carry this kind, and it still verifies.
 */
export interface UpdateAnchor {
  readonly kind: "update";
  /** The update's per-twin sequence number (decimal string: uint64). */
  readonly sequence: string;
  /** keccak256 of the encrypted envelope, as anchored by recordUpdate. */
  readonly contentHash: string;
  /** The envelope's CIDv1 (base32 string); its binary form is what recordUpdate anchored. */
  readonly cid: string;
  readonly blockNumber: number;
  readonly transactionHash: string;
}

/**
 * Where a record is anchored: one leaf of a record batch (one EMR ingest) anchored by `anchorRecords`. The leaf is
 * `(category, contentHash, keccak256(cid bytes))`; `verifyRecord(twinId, source, recordsRoot, category, contentHash,
 * cidHash, proof)` on chain proves it.
 */
export interface RecordsAnchor {
  readonly kind: "records";
  /** The batch's sequence in the twin's hash chain (decimal string: uint64); shared by every record of the batch. */
  readonly sequence: string;
  readonly recordsRoot: string;
  /** Checksummed address of the source that anchored the batch. */
  readonly source: string;
  /** The record's one DataCategory bit (a leaf value). */
  readonly category: number;
  /** keccak256 of the encrypted envelope (a leaf value). */
  readonly contentHash: string;
  /** The envelope's CIDv1 (base32 string); keccak256 of its binary form is the leaf's third value. */
  readonly cid: string;
  /** The StandardMerkleTree proof of the record's leaf. */
  readonly proof: readonly string[];
  readonly blockNumber: number;
  readonly transactionHash: string;
}

/** Where a record is anchored: by a record batch (the pipeline's way), or by a v1 update. */
export type RecordAnchor = RecordsAnchor | UpdateAnchor;

/** Where a reading is anchored: one leaf of a batch anchored by anchorBatch. */
export interface BatchAnchor {
  readonly kind: "batch";
  readonly merkleRoot: string;
  /** Checksummed address of the source (the device) that anchored the batch: batches are keyed by it on chain. */
  readonly source: string;
  /** The leaf's first value: a salted commitment to the reading (never an unsalted hash of health data). */
  readonly readingHash: string;
  /** The leaf's second value: the reading's time in seconds. */
  readonly timestamp: number;
  /** 32-byte salt that lets the reader recompute `readingHash` from the reading. */
  readonly salt: string;
  readonly proof: readonly string[];
  readonly blockNumber: number;
}

/** The committed twin version an answer was computed from (commitTwinState). */
export interface StateAnchor {
  /** The twin engine's version (counts every version of the twin at this service). */
  readonly version: number;
  /**
   * The version as committed on chain: within the custodian's epoch, 1 for its first commit then one more each time
   * (`commitTwinState`'s `version`, `TwinStateCommitted`'s indexed version).
   */
  readonly chainVersion: number;
  /** The custodian epoch of the commit (`TwinStateCommitted.epoch`). */
  readonly epoch: number;
  readonly stateRoot: string;
  readonly sourcesRoot: string;
  readonly blockNumber: number;
  readonly transactionHash: string;
}

export interface ProvenRecord {
  readonly record: TwinRecord;
  readonly anchor: RecordAnchor;
}

export interface ProvenReading {
  readonly reading: VitalReading;
  /** Null while the reading's batch is not yet anchored, and for a reading taken from an EMR record. */
  readonly anchor: BatchAnchor | null;
  /**
   * For a reading taken from an EMR record (category VITALS or LABS, `reading.recordKey` set): the
   * anchor of that record. Absent for wearable readings (those have `anchor`).
   */
  readonly recordAnchor?: RecordAnchor;
}

/** What the service holds of a twin. */
export type TwinHolding = "active" | "erased" | "unknown";

export interface ReadingsQuery {
  readonly signs?: readonly VitalSignName[];
  /** Milliseconds since the epoch, inclusive. */
  readonly from?: number;
  /** Milliseconds since the epoch, exclusive. */
  readonly to?: number;
}

/** Read side of the pipeline, used by the gateway after the consent check. */
export interface TwinDataReader {
  holding(twinId: string): TwinHolding;
  /** The latest twin version and its on-chain commitment (null before the first commit). */
  version(twinId: string): { readonly version: TwinVersion; readonly anchor: StateAnchor | null };
  /** Records in the categories of `categoryMask`, decrypted by the service, each with its anchor. */
  records(twinId: string, categoryMask: number): Promise<readonly ProvenRecord[]>;
  /** Readings matching the query, each with its batch anchor. */
  readings(twinId: string, query: ReadingsQuery): Promise<readonly ProvenReading[]>;
  /**
   * A token that changes whenever an answer about the twin could change (its records, readings, anchors, versions,
   * erasure, the readings set aside); null while a write of the twin runs. The gateway keeps an answer it built only
   * while the token stays the same; a reader without it has no answer kept.
   */
  revision?(twinId: string): string | null;
}
