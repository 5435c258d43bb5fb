import { LRUCache } from "lru-cache";
import { getBytes, hexlify, isHexString, type ContractRunner } from "ethers";
import { cidHashOf, verifyReadingProof, verifyRecordProof } from "../chain/anchors";
import { contentHash, isTwinId } from "../crypto";
import { checksumAddress } from "../crypto/address";
import type { VitalReading } from "../fhir/records";
import { cidOf, parseCid } from "../store";
import type { TwinVersion } from "../twin";
import { TwinUpdateLog__factory, type TwinUpdateLog } from "../../typechain-types";
import { readingCommitment, readingTimestampSeconds } from "./reading-commitment";
import type { BatchAnchor, RecordAnchor, RecordsAnchor, StateAnchor, UpdateAnchor } from "./reader";

/*
 * The reader-side checks: a reader holding an answer of the gateway (records, readings, a twin
 * version, each with its anchor) checks it against the chain itself, trusting neither the gateway
 * nor the custodian. Every check returns a typed verdict and never throws for a wrong anchor.
 */

/** Why an anchor does not check out. */
export type AnchorFault =
  /** The anchor (or the twin id) is not well formed. */
  | "MALFORMED_ANCHOR"
  /** No event on chain matches the anchor's twin and sequence (or version). */
  | "NO_EVENT"
  /** The event anchors another content hash. */
  | "CONTENT_HASH_MISMATCH"
  /** The event anchors another content id. */
  | "CID_MISMATCH"
  /** The event is in another block or transaction than the anchor says. */
  | "LOCATION_MISMATCH"
  /** The envelope's keccak256 or content id is not the anchored one. */
  | "ENVELOPE_MISMATCH"
  /** The reading and salt do not give the anchor's readingHash, or its time is not the anchor's. */
  | "COMMITMENT_MISMATCH"
  /** The Merkle proof does not lead from the reading or record to the root (checked off chain). */
  | "PROOF_INVALID"
  /**
   * The chain says no: the root is not anchored for the twin by the anchor's source (`verifyReading`, `batchOf`,
   * `recordBatchOf`), or the record's category is not in its batch's mask.
   */
  | "NOT_ANCHORED"
  /** The record batch is anchored at another sequence of the twin's chain than the anchor says. */
  | "SEQUENCE_MISMATCH"
  /** The committed state root or sources root differs from the anchor's (or from the given version's). */
  | "STATE_MISMATCH";

export type AnchorVerification =
  | { readonly valid: true; readonly reason: null }
  | { readonly valid: false; readonly reason: AnchorFault; readonly message: string };

/** How to reach the update log: a typechain contract, or a runner (provider) and its address. */
export type UpdateLogAccess =
  { readonly updateLog: TwinUpdateLog } | { readonly runner: ContractRunner; readonly address: string };

export type VerifyOptions = UpdateLogAccess & {
  /** The twin the anchor is claimed for. */
  readonly twinId: string;
  /** First block to search events from (the log's deployment block); 0 by default. */
  readonly fromBlock?: number;
  /** On-chain facts already checked, to ask the chain once per anchor instead of once per answer. */
  readonly verified?: VerifiedAnchors;
};

/**
 * An anchored reading batch as `batchOf(twinId, source, root)` holds it: only its time of anchoring (counts and time
 * ranges are not on chain in v2; they stay in the batch blob and the pipeline's index).
 */
export interface AnchoredBatch {
  readonly anchoredAt: bigint;
}

/** An anchored record batch as `recordBatchOf(twinId, source, root)` holds it: what `verifyRecord` checks against. */
export interface AnchoredRecordBatch {
  readonly sequence: bigint;
  readonly categories: bigint;
  readonly anchoredAt: bigint;
}

type Fact = AnchoredBatch | AnchoredRecordBatch | true;

/**
 * On-chain facts a reader has checked, kept so that later answers citing the same anchors are checked off chain.
 *
 * Only facts the update log never changes are kept: an `UpdateRecorded` or `TwinStateCommitted` event with its roots,
 * block and transaction, a committed version reached by `twinStateOf` (epochs and versions only grow), an anchored
 * reading batch (`batchOf`: a root is anchored once per source) and an anchored record batch (`recordBatchOf`, with
 * its sequence and category mask). A reading or a record is then checked exactly as `verifyReading` and
 * `verifyRecord` do on chain: the batch is anchored by that source, the record's category is one bit of its mask, the
 * Merkle proof leads to the root. Negative answers are never kept. Facts are kept per update-log contract (the key
 * includes its address).
 *
 * @dev The facts are final once their blocks are: on a chain that can reorganize, keep the anchors' blocks below the
 * finality depth (or `clear()` on a reorganization), as an indexer does.
 */
export class VerifiedAnchors {
  /** Fact key (prefixed by its kind: `record:`, `state:`, `batch:`, `records:`) → the batch as anchored, or true. */
  private readonly facts: LRUCache<string, Fact>;

  /** @param capacity Facts kept; beyond it the least recently used go first. */
  constructor(capacity = 100_000) {
    this.facts = new LRUCache<string, Fact>({ max: capacity });
  }

  /** @internal */
  has(key: string): boolean {
    return this.facts.has(key);
  }

  /** @internal */
  add(key: string): void {
    this.keep(key, true);
  }

  /** @internal */
  batch(key: string): AnchoredBatch | undefined {
    const fact = this.facts.get(key);
    return fact === true || fact === undefined || "sequence" in fact ? undefined : fact;
  }

  /** @internal */
  addBatch(key: string, batch: AnchoredBatch): void {
    this.keep(key, batch);
  }

  /** @internal */
  recordBatch(key: string): AnchoredRecordBatch | undefined {
    const fact = this.facts.get(key);
    return fact === true || fact === undefined || !("sequence" in fact) ? undefined : fact;
  }

  /** @internal */
  addRecordBatch(key: string, batch: AnchoredRecordBatch): void {
    this.keep(key, batch);
  }

  /** Facts kept, of every kind. */
  get size(): number {
    return this.facts.size;
  }

  /** Forgets everything (after a reorganization, for instance). */
  clear(): void {
    this.facts.clear();
  }

  private keep(key: string, fact: Fact): void {
    this.facts.set(key, fact);
  }
}

/** The update log's address, for cache keys (a typechain contract's `target`, or the given address). */
function logKey(access: UpdateLogAccess): string {
  const target = "updateLog" in access ? access.updateLog.target : access.address;
  return String(target).toLowerCase();
}

const VALID: AnchorVerification = Object.freeze({ valid: true, reason: null });
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

function fail(reason: AnchorFault, message: string): AnchorVerification {
  return { valid: false, reason, message };
}

function logOf(access: UpdateLogAccess): TwinUpdateLog {
  return "updateLog" in access ? access.updateLog : TwinUpdateLog__factory.connect(access.address, access.runner);
}

/**
 * Check a record's anchor, and, given the envelope bytes the reader fetched, that `keccak256(envelope)` is the
 * anchored content hash and `cidOf(envelope)` the anchored content id.
 *
 * - kind "records" (a leaf of a record batch): the proof leads from `(category, contentHash, keccak256(cid bytes))`
 *   to the root (off chain), and `recordBatchOf(twinId, source, root)` says the batch is anchored by that source at
 *   the anchor's sequence with the category in its mask: what `verifyRecord` checks on chain, with one chain question
 *   per batch when `options.verified` is given (one per anchor otherwise).
 * - kind "update" (v1 `recordUpdate`): the `UpdateRecorded` event of the twin at the anchor's sequence exists
 *   (queried by its indexed twinId and sequence), anchors the same content hash and content id (in binary form), in
 *   the block and transaction the anchor names.
 */
export async function verifyRecordAnchor(
  anchor: RecordAnchor,
  options: VerifyOptions & { readonly envelope?: Uint8Array },
): Promise<AnchorVerification> {
  if (!isTwinId(options.twinId)) return fail("MALFORMED_ANCHOR", "twinId is not a bytes32 hex string");
  if (anchor.kind === "records") return verifyRecordsAnchor(anchor, options);
  if (anchor.kind !== "update") return fail("MALFORMED_ANCHOR", "the anchor's kind is unknown");
  let sequence: bigint;
  let cidBytes: string;
  try {
    sequence = BigInt(anchor.sequence);
    if (sequence < 1n || !/^\d+$/.test(anchor.sequence)) throw new Error("sequence");
    if (!BYTES32.test(anchor.contentHash)) throw new Error("contentHash");
    cidBytes = hexlify(parseCid(anchor.cid).bytes);
  } catch {
    return fail("MALFORMED_ANCHOR", "the anchor's sequence, content hash or content id is malformed");
  }
  const envelope = envelopeFault(anchor, options.envelope);
  if (envelope !== null) return envelope;
  const fact = `record:${logKey(options)}:${options.twinId}:${sequence}:${anchor.contentHash}:${cidBytes}:${
    anchor.blockNumber
  }:${anchor.transactionHash}`.toLowerCase();
  if (options.verified?.has(fact)) return VALID;
  const log = logOf(options);
  const events = await log.queryFilter(
    log.filters.UpdateRecorded(options.twinId, sequence),
    options.fromBlock ?? 0,
    "latest",
  );
  if (events.length !== 1) {
    return fail("NO_EVENT", `found ${events.length} UpdateRecorded events for sequence ${sequence} of the twin`);
  }
  const [event] = events;
  if (event.args.contentHash.toLowerCase() !== anchor.contentHash.toLowerCase()) {
    return fail("CONTENT_HASH_MISMATCH", `the update at sequence ${sequence} anchors another content hash`);
  }
  if (event.args.cid.toLowerCase() !== cidBytes.toLowerCase()) {
    return fail("CID_MISMATCH", `the update at sequence ${sequence} anchors another content id`);
  }
  if (event.blockNumber !== anchor.blockNumber || event.transactionHash !== anchor.transactionHash) {
    return fail("LOCATION_MISMATCH", `the update at sequence ${sequence} is in another block or transaction`);
  }
  options.verified?.add(fact);
  return VALID;
}

/** The envelope the reader holds is the anchored one (content hash and content id), or the fault. */
function envelopeFault(
  anchor: Pick<UpdateAnchor, "contentHash" | "cid">,
  envelope: Uint8Array | undefined,
): AnchorVerification | null {
  if (envelope === undefined) return null;
  if (contentHash(envelope) !== anchor.contentHash.toLowerCase()) {
    return fail("ENVELOPE_MISMATCH", "keccak256 of the envelope is not the anchored content hash");
  }
  if (cidOf(envelope) !== anchor.cid) {
    return fail("ENVELOPE_MISMATCH", "the envelope's content id is not the anchored one");
  }
  return null;
}

/** A record of a record batch (see `verifyRecordAnchor`). */
async function verifyRecordsAnchor(
  anchor: RecordsAnchor,
  options: VerifyOptions & { readonly envelope?: Uint8Array },
): Promise<AnchorVerification> {
  let sequence: bigint;
  let source: string;
  let cidHash: string;
  try {
    if (!/^\d+$/.test(anchor.sequence)) throw new Error("sequence");
    sequence = BigInt(anchor.sequence);
    if (sequence < 1n) throw new Error("sequence");
    if (!BYTES32.test(anchor.recordsRoot) || !BYTES32.test(anchor.contentHash)) throw new Error("hash");
    if (!Number.isSafeInteger(anchor.category) || anchor.category <= 0) throw new Error("category");
    if (!Array.isArray(anchor.proof) || !anchor.proof.every((node) => isHexString(node, 32))) throw new Error("proof");
    source = checksumAddress(anchor.source);
    cidHash = cidHashOf(parseCid(anchor.cid).bytes);
  } catch {
    return fail(
      "MALFORMED_ANCHOR",
      "the anchor's sequence, root, source, category, content hash, cid or proof is malformed",
    );
  }
  const envelope = envelopeFault(anchor, options.envelope);
  if (envelope !== null) return envelope;
  let proven: boolean;
  try {
    proven = verifyRecordProof(anchor.recordsRoot, anchor.category, anchor.contentHash, cidHash, anchor.proof);
  } catch {
    return fail("MALFORMED_ANCHOR", "the record's category is not one defined DataCategory bit");
  }
  if (!proven) return fail("PROOF_INVALID", "the proof does not lead from the record to the batch root");
  // verifyRecord's own test, against the batch as anchored (the proof was checked above).
  const batch = await anchoredRecordBatch(source, anchor.recordsRoot, options);
  if (batch === null) return fail("NOT_ANCHORED", "the record batch is not anchored for the twin by this source");
  if ((batch.categories & BigInt(anchor.category)) === 0n) {
    return fail("NOT_ANCHORED", "the record's category is not in its batch's category mask");
  }
  if (batch.sequence !== sequence) {
    return fail("SEQUENCE_MISMATCH", `the record batch is at sequence ${batch.sequence}, not ${sequence}`);
  }
  return VALID;
}

/**
 * The record batch anchored for the twin by `source` under `recordsRoot` (`recordBatchOf`), or null when none is;
 * asked once per (source, root) when `options.verified` is given.
 */
export async function anchoredRecordBatch(
  source: string,
  recordsRoot: string,
  options: VerifyOptions,
): Promise<AnchoredRecordBatch | null> {
  const key = `records:${logKey(options)}:${options.twinId}:${source}:${recordsRoot}`.toLowerCase();
  const known = options.verified?.recordBatch(key);
  if (known !== undefined) return known;
  const onChain = await logOf(options).recordBatchOf(options.twinId, source, recordsRoot);
  if (onChain.anchoredAt === 0n) return null;
  const batch = { sequence: onChain.sequence, categories: onChain.categories, anchoredAt: onChain.anchoredAt };
  options.verified?.addRecordBatch(key, batch);
  return batch;
}

/**
 * Check a reading against its batch anchor: recompute `readingHash` from the reading and the salt
 * (`readingCommitment`) and the leaf time from the reading, check the proof off chain
 * (`verifyReadingProof`), then ask the chain (`verifyReading(twinId, source, root, ...)`), which also
 * checks the root is anchored for the twin by the anchor's source; with `options.verified`, `batchOf` is asked once
 * per (source, root) instead.
 */
export async function verifyReadingAnchor(
  reading: VitalReading,
  anchor: BatchAnchor,
  options: VerifyOptions,
): Promise<AnchorVerification> {
  if (!isTwinId(options.twinId)) return fail("MALFORMED_ANCHOR", "twinId is not a bytes32 hex string");
  if (
    !BYTES32.test(anchor.merkleRoot) ||
    !BYTES32.test(anchor.readingHash) ||
    !BYTES32.test(anchor.salt) ||
    typeof anchor.source !== "string" ||
    !isHexString(anchor.source, 20) ||
    !anchor.proof.every((node) => isHexString(node, 32))
  ) {
    return fail("MALFORMED_ANCHOR", "the anchor's root, source, hash, salt or proof is malformed");
  }
  let recomputed: string;
  try {
    recomputed = readingCommitment(anchor.salt, options.twinId, reading);
  } catch {
    return fail("MALFORMED_ANCHOR", "the reading cannot be committed to (time or value malformed)");
  }
  if (recomputed !== anchor.readingHash.toLowerCase()) {
    return fail("COMMITMENT_MISMATCH", "the reading and salt do not give the anchored reading hash");
  }
  if (readingTimestampSeconds(reading) !== anchor.timestamp) {
    return fail("COMMITMENT_MISMATCH", "the reading's time is not the anchored leaf time");
  }
  if (!verifyReadingProof(anchor.merkleRoot, anchor.readingHash, anchor.timestamp, anchor.proof)) {
    return fail("PROOF_INVALID", "the proof does not lead from the reading to the batch root");
  }
  const { verified } = options;
  if (verified === undefined) {
    const onChain = await logOf(options).verifyReading(
      options.twinId,
      anchor.source,
      anchor.merkleRoot,
      anchor.readingHash,
      anchor.timestamp,
      anchor.proof.map((node) => hexlify(getBytes(node))),
    );
    if (!onChain) return fail("NOT_ANCHORED", "verifyReading on chain rejects the reading");
    return VALID;
  }
  // verifyReading's own test, off chain, against the batch as anchored (the proof was checked above).
  const batch = await anchoredBatch(anchor.source, anchor.merkleRoot, options);
  if (batch === null) return fail("NOT_ANCHORED", "the batch root is not anchored for the twin by this source");
  return VALID;
}

/**
 * The reading batch anchored for the twin by `source` under `merkleRoot` (`batchOf`), or null when none is; asked
 * once per (source, root) when `options.verified` is given.
 */
export async function anchoredBatch(
  source: string,
  merkleRoot: string,
  options: VerifyOptions,
): Promise<AnchoredBatch | null> {
  const key = `batch:${logKey(options)}:${options.twinId}:${source}:${merkleRoot}`.toLowerCase();
  const known = options.verified?.batch(key);
  if (known !== undefined) return known;
  const onChain = await logOf(options).batchOf(options.twinId, source, merkleRoot);
  if (onChain.anchoredAt === 0n) return null;
  const batch = { anchoredAt: onChain.anchoredAt };
  options.verified?.addBatch(key, batch);
  return batch;
}

/**
 * Check a twin version's anchor: the `TwinStateCommitted` event of the twin at the anchor's chain version and epoch
 * exists with the same state and sources roots, in the block and transaction the anchor names; the on-chain
 * `twinStateOf` is at this (epoch, version) or later (and, at it, holds the same roots); and, given the version the
 * gateway answered from, its engine version and roots are the anchored ones.
 */
export async function verifyStateAnchor(
  anchor: StateAnchor,
  options: VerifyOptions & { readonly version?: Pick<TwinVersion, "version" | "stateRoot" | "sourcesRoot"> },
): Promise<AnchorVerification> {
  if (!isTwinId(options.twinId)) return fail("MALFORMED_ANCHOR", "twinId is not a bytes32 hex string");
  if (
    !Number.isSafeInteger(anchor.version) ||
    anchor.version < 1 ||
    !Number.isSafeInteger(anchor.chainVersion) ||
    anchor.chainVersion < 1 ||
    !Number.isSafeInteger(anchor.epoch) ||
    anchor.epoch < 1 ||
    !BYTES32.test(anchor.stateRoot) ||
    !BYTES32.test(anchor.sourcesRoot)
  ) {
    return fail("MALFORMED_ANCHOR", "the anchor's versions, epoch or roots are malformed");
  }
  const given = options.version;
  if (
    given !== undefined &&
    (given.version !== anchor.version ||
      given.stateRoot.toLowerCase() !== anchor.stateRoot.toLowerCase() ||
      given.sourcesRoot.toLowerCase() !== anchor.sourcesRoot.toLowerCase())
  ) {
    return fail("STATE_MISMATCH", "the twin version answered is not the anchored one");
  }
  const at = `epoch ${anchor.epoch} version ${anchor.chainVersion}`;
  const fact = `state:${logKey(options)}:${options.twinId}:${anchor.epoch}:${anchor.chainVersion}:${anchor.stateRoot}:${
    anchor.sourcesRoot
  }:${anchor.blockNumber}:${anchor.transactionHash}`.toLowerCase();
  if (options.verified?.has(fact)) return VALID;
  const log = logOf(options);
  const events = (
    await log.queryFilter(
      log.filters.TwinStateCommitted(options.twinId, anchor.chainVersion),
      options.fromBlock ?? 0,
      "latest",
    )
  ).filter((event) => event.args.epoch === BigInt(anchor.epoch));
  if (events.length !== 1) {
    return fail("NO_EVENT", `found ${events.length} TwinStateCommitted events for ${at}`);
  }
  const [event] = events;
  if (
    event.args.stateRoot.toLowerCase() !== anchor.stateRoot.toLowerCase() ||
    event.args.sourcesRoot.toLowerCase() !== anchor.sourcesRoot.toLowerCase()
  ) {
    return fail("STATE_MISMATCH", `${at} was committed with other roots`);
  }
  if (event.blockNumber !== anchor.blockNumber || event.transactionHash !== anchor.transactionHash) {
    return fail("LOCATION_MISMATCH", `${at} was committed in another block or transaction`);
  }
  const current = await log.twinStateOf(options.twinId);
  const epoch = BigInt(anchor.epoch);
  const chainVersion = BigInt(anchor.chainVersion);
  if (current.epoch < epoch || (current.epoch === epoch && current.version < chainVersion)) {
    return fail("NO_EVENT", `the twin's committed state is before ${at}`);
  }
  if (
    current.epoch === epoch &&
    current.version === chainVersion &&
    (current.stateRoot.toLowerCase() !== anchor.stateRoot.toLowerCase() ||
      current.sourcesRoot.toLowerCase() !== anchor.sourcesRoot.toLowerCase())
  ) {
    return fail("STATE_MISMATCH", `twinStateOf holds other roots for ${at}`);
  }
  options.verified?.add(fact);
  return VALID;
}
