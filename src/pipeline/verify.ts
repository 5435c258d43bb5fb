import { getBytes, hexlify, isHexString, type ContractRunner } from "ethers";
import { verifyReadingProof } from "../chain/anchors";
import { contentHash, isTwinId } from "../crypto";
import type { VitalReading } from "../fhir/records";
import { cidOf, parseCid } from "../store";
import type { TwinVersion } from "../twin";
import { TwinUpdateLog__factory, type TwinUpdateLog } from "../../typechain-types";
import { readingCommitment, readingTimestampSeconds } from "./reading-commitment";
import type { BatchAnchor, StateAnchor, UpdateAnchor } from "./reader";

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
  /** The Merkle proof does not lead from the reading to the root (checked off chain). */
  | "PROOF_INVALID"
  /** `verifyReading` on chain says no: the root is not anchored for the twin, or the time lies outside the batch. */
  | "NOT_ANCHORED"
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

/** An anchored batch as `batchOf` holds it: what `verifyReading` checks a reading against. */
export interface AnchoredBatch {
  readonly count: bigint;
  readonly from: bigint;
  readonly to: bigint;
}

/**
 * On-chain facts a reader has checked, kept so that later answers citing the same anchors are checked off chain.
 *
 * Only facts the update log never changes are kept: an `UpdateRecorded` or `TwinStateCommitted` event with its roots,
 * block and transaction, a committed version reached by `twinStateOf` (versions only grow), and an anchored batch
 * (`batchOf`: a root is anchored once, with its time range). A reading is then checked exactly as `verifyReading`
 * does on chain: the batch is anchored, the time lies in its range, the Merkle proof leads to the root. Negative
 * answers are never kept. Facts are kept per update-log contract (the key includes its address).
 *
 * @dev The facts are final once their blocks are: on a chain that can reorganize, keep the anchors' blocks below the
 * finality depth (or `clear()` on a reorganization), as an indexer does.
 */
export class VerifiedAnchors {
  /** Fact key (prefixed by its kind: `record:`, `state:`, `batch:`) → the batch as anchored, or true. */
  private readonly facts = new Map<string, AnchoredBatch | true>();

  /** @param capacity Facts kept; beyond it the oldest go first. */
  constructor(private readonly capacity = 100_000) {}

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
    return fact === true ? undefined : fact;
  }

  /** @internal */
  addBatch(key: string, batch: AnchoredBatch): void {
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

  private keep(key: string, fact: AnchoredBatch | true): void {
    if (this.facts.size >= this.capacity) this.facts.delete(this.facts.keys().next().value as string);
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
 * Check a record's anchor: the `UpdateRecorded` event of the twin at the anchor's sequence exists
 * (queried by its indexed twinId and sequence), anchors the same content hash and content id (in
 * binary form), in the block and transaction the anchor names; and, given the envelope bytes the
 * reader fetched, that `keccak256(envelope)` is the content hash and `cidOf(envelope)` the content id.
 */
export async function verifyRecordAnchor(
  anchor: UpdateAnchor,
  options: VerifyOptions & { readonly envelope?: Uint8Array },
): Promise<AnchorVerification> {
  if (!isTwinId(options.twinId)) return fail("MALFORMED_ANCHOR", "twinId is not a bytes32 hex string");
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
  if (options.envelope !== undefined) {
    if (contentHash(options.envelope) !== anchor.contentHash.toLowerCase()) {
      return fail("ENVELOPE_MISMATCH", "keccak256 of the envelope is not the anchored content hash");
    }
    if (cidOf(options.envelope) !== anchor.cid) {
      return fail("ENVELOPE_MISMATCH", "the envelope's content id is not the anchored one");
    }
  }
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

/**
 * Check a reading against its batch anchor: recompute `readingHash` from the reading and the salt
 * (`readingCommitment`) and the leaf time from the reading, check the proof off chain
 * (`verifyReadingProof`), then ask the chain (`verifyReading`), which also checks the root is
 * anchored for the twin and the time lies in the batch's range.
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
    !anchor.proof.every((node) => isHexString(node, 32))
  ) {
    return fail("MALFORMED_ANCHOR", "the anchor's root, hash, salt or proof is malformed");
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
      anchor.merkleRoot,
      anchor.readingHash,
      anchor.timestamp,
      anchor.proof.map((node) => hexlify(getBytes(node))),
    );
    if (!onChain) return fail("NOT_ANCHORED", "verifyReading on chain rejects the reading");
    return VALID;
  }
  // verifyReading's own test, off chain, against the batch as anchored (the proof was checked above).
  const batch = await anchoredBatch(anchor.merkleRoot, options);
  if (batch === null) return fail("NOT_ANCHORED", "the batch root is not anchored for the twin");
  const time = BigInt(anchor.timestamp);
  if (time < batch.from || time > batch.to) return fail("NOT_ANCHORED", "the reading's time lies outside the batch");
  return VALID;
}

/**
 * The batch anchored for the twin under `merkleRoot` (`batchOf`), or null when none is; asked once per root when
 * `options.verified` is given.
 */
export async function anchoredBatch(merkleRoot: string, options: VerifyOptions): Promise<AnchoredBatch | null> {
  const key = `batch:${logKey(options)}:${options.twinId}:${merkleRoot}`.toLowerCase();
  const known = options.verified?.batch(key);
  if (known !== undefined) return known;
  const onChain = await logOf(options).batchOf(options.twinId, merkleRoot);
  if (onChain.anchoredAt === 0n) return null;
  const batch = { count: onChain.count, from: onChain.from, to: onChain.to };
  options.verified?.addBatch(key, batch);
  return batch;
}

/**
 * Check a twin version's anchor: the `TwinStateCommitted` event of the twin at that version exists
 * with the same state and sources roots, in the block and transaction the anchor names; the
 * on-chain `twinStateOf` is at this version or later (and, at this version, holds the same roots);
 * and, given the version the gateway answered from, its roots are the anchored ones.
 */
export async function verifyStateAnchor(
  anchor: StateAnchor,
  options: VerifyOptions & { readonly version?: Pick<TwinVersion, "version" | "stateRoot" | "sourcesRoot"> },
): Promise<AnchorVerification> {
  if (!isTwinId(options.twinId)) return fail("MALFORMED_ANCHOR", "twinId is not a bytes32 hex string");
  if (
    !Number.isSafeInteger(anchor.version) ||
    anchor.version < 1 ||
    !BYTES32.test(anchor.stateRoot) ||
    !BYTES32.test(anchor.sourcesRoot)
  ) {
    return fail("MALFORMED_ANCHOR", "the anchor's version or roots are malformed");
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
  const fact = `state:${logKey(options)}:${options.twinId}:${anchor.version}:${anchor.stateRoot}:${
    anchor.sourcesRoot
  }:${anchor.blockNumber}:${anchor.transactionHash}`.toLowerCase();
  if (options.verified?.has(fact)) return VALID;
  const log = logOf(options);
  const events = await log.queryFilter(
    log.filters.TwinStateCommitted(options.twinId, anchor.version),
    options.fromBlock ?? 0,
    "latest",
  );
  if (events.length !== 1) {
    return fail("NO_EVENT", `found ${events.length} TwinStateCommitted events for version ${anchor.version}`);
  }
  const [event] = events;
  if (
    event.args.stateRoot.toLowerCase() !== anchor.stateRoot.toLowerCase() ||
    event.args.sourcesRoot.toLowerCase() !== anchor.sourcesRoot.toLowerCase()
  ) {
    return fail("STATE_MISMATCH", `version ${anchor.version} was committed with other roots`);
  }
  if (event.blockNumber !== anchor.blockNumber || event.transactionHash !== anchor.transactionHash) {
    return fail("LOCATION_MISMATCH", `version ${anchor.version} was committed in another block or transaction`);
  }
  const current = await log.twinStateOf(options.twinId);
  if (current.version < BigInt(anchor.version)) {
    return fail("NO_EVENT", `the twin's committed version is below ${anchor.version}`);
  }
  if (
    current.version === BigInt(anchor.version) &&
    (current.stateRoot.toLowerCase() !== anchor.stateRoot.toLowerCase() ||
      current.sourcesRoot.toLowerCase() !== anchor.sourcesRoot.toLowerCase())
  ) {
    return fail("STATE_MISMATCH", "twinStateOf holds other roots for this version");
  }
  options.verified?.add(fact);
  return VALID;
}
