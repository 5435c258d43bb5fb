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
};

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
  return VALID;
}
