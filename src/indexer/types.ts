import type { SourceKind, TwinStatus } from "../vocabulary";

/**
 * The shapes the indexer's queries return.
 *
 * - Addresses are EIP-55 checksummed strings; arguments are accepted in any case.
 * - Hashes, roots, twin ids and content ids are lowercase 0x-hex strings.
 * - Block numbers, log indexes, timestamps (unix seconds) and the masks are `number` (all below 2^53);
 *   uint64 and uint256 values (update sequence, state version, consent request id) are `bigint`.
 */

/** Where an event sits on chain. */
export interface ChainPosition {
  readonly blockNumber: number;
  readonly logIndex: number;
  /** Block timestamp, unix seconds. */
  readonly timestamp: number;
  readonly transactionHash: string;
}

/** When something ended or changed (a removal, a revocation, a close), and by whom where the event says. */
export interface ChainMoment {
  readonly blockNumber: number;
  /** Block timestamp, unix seconds. */
  readonly timestamp: number;
  /** The account that did it, where the event names one. */
  readonly by: string | null;
}

/** The indexer's progress: the last block fully indexed. */
export interface Checkpoint {
  /** The last indexed block; `startBlock - 1` before the first sync. */
  readonly blockNumber: number;
  /** That block's hash, checked against the chain on every sync; null before the first sync. */
  readonly blockHash: string | null;
  readonly blockTimestamp: number | null;
}

/** What one `syncOnce()` did. */
export interface SyncResult {
  /** The chain head seen. */
  readonly head: number;
  /** The highest block that could be indexed: `head - confirmations`. */
  readonly safeHead: number;
  /** First and last block read, or null when there was nothing new. */
  readonly fromBlock: number | null;
  readonly toBlock: number | null;
  /** Number of `getLogs` ranges committed. */
  readonly ranges: number;
  /** Number of new logs applied (a log already indexed is not counted). */
  readonly events: number;
  readonly checkpoint: Checkpoint;
  /** The reorg this sync rolled back before indexing, or null. */
  readonly reorg: ReorgView | null;
}

/** A reorg the indexer rolled back: the chain no longer had the indexed blocks above `ancestor`. */
export interface ReorgView {
  /** The checkpoint that was no longer on the chain. */
  readonly replacedCheckpoint: number;
  /** The block the index was rolled back to (the common ancestor, or `startBlock - 1` for a rebuild). */
  readonly ancestor: number;
  /** True when the index was rebuilt from the start (every indexed block replaced, or older than the journal). */
  readonly rebuilt: boolean;
}

export interface TwinSummary {
  readonly twinId: string;
  readonly owner: string;
  readonly custodian: string;
  readonly status: TwinStatus;
  readonly metadataCommitment: string;
  /** The address that may accept ownership, or null. */
  readonly pendingOwner: string | null;
  readonly created: ChainPosition;
  /** Block and time of the last change to the fields above. */
  readonly updatedBlock: number;
  readonly updatedAt: number;
}

export interface SourceAuthorizationView {
  readonly twinId: string;
  readonly source: string;
  readonly kind: SourceKind;
  /** DataCategory bits the source may write. */
  readonly categories: number;
  /** The last (re-)authorization. */
  readonly authorized: ChainPosition;
  /** Set when the source was removed (and not authorized again since). */
  readonly removed: ChainMoment | null;
  readonly active: boolean;
}

/**
 * Why a delegate's appointment ended: `removed` by the owner or resigned (`DelegateRemoved`, `removed.by` says who),
 * or `cleared` by an ownership change (`DelegatesCleared`: delegates do not survive one; `removed.by` is null).
 */
export type DelegateEndReason = "removed" | "cleared";

export interface DelegateView {
  readonly twinId: string;
  readonly delegate: string;
  /** The last appointment. */
  readonly appointed: ChainPosition;
  /** Set when the delegate was removed, resigned or cleared (and not appointed again since). */
  readonly removed: ChainMoment | null;
  /** Why, when `removed` is set. */
  readonly endReason: DelegateEndReason | null;
  readonly active: boolean;
}

export interface EmergencyPolicyView {
  readonly allowed: boolean;
  /** Longest emergency access, seconds. */
  readonly maxDuration: number;
  /** DataCategory bits an emergency access may read. */
  readonly categories: number;
  readonly set: { readonly blockNumber: number; readonly timestamp: number };
}

export interface TwinDetails extends TwinSummary {
  /** Currently authorized sources. */
  readonly sources: readonly SourceAuthorizationView[];
  /** Current delegates (guardians). */
  readonly delegates: readonly DelegateView[];
  readonly emergencyPolicy: EmergencyPolicyView | null;
}

export type TwinHistoryKind =
  | "created"
  | "metadata-updated"
  | "custodian-changed"
  | "ownership-transfer-started"
  | "ownership-transfer-cancelled"
  | "ownership-transferred"
  | "delegates-cleared"
  | "suspended"
  | "resumed"
  | "erased";

/** One change to a twin's record. `previous`/`next` are the owners or custodians involved, where the kind has them. */
export interface TwinHistoryEntry {
  readonly twinId: string;
  readonly kind: TwinHistoryKind;
  readonly previous: string | null;
  /** The new owner or custodian, or the new metadata commitment. */
  readonly next: string | null;
  /** Who did it, where the event names it (suspend, resume, erase; the owner for creation). */
  readonly actor: string | null;
  readonly position: ChainPosition;
}

/** The terms of a grant, as in `ConsentGranted`/`ConsentUpdated`. */
export interface GrantTermsView {
  readonly categories: number;
  readonly actions: number;
  readonly purposes: number;
  /** First second of validity. */
  readonly validFrom: number;
  /** First second after validity. */
  readonly validUntil: number;
}

/**
 * A grant's state at the time asked (`at`): `revoked`, `expired` (`at >= validUntil`), `scheduled`
 * (`at < validFrom`) or `active`. It says nothing of the twin's status: a suspended twin's active grants
 * answer nothing on chain (see `TwinSummary.status`).
 */
export type ConsentStatus = "active" | "scheduled" | "expired" | "revoked";

export interface ConsentView extends GrantTermsView {
  readonly twinId: string;
  readonly grantee: string;
  /** Who made the current grant (owner, delegate or signer). */
  readonly grantor: string;
  readonly status: ConsentStatus;
  /** The last `ConsentGranted` for this grantee (a new grant replaces the old one and clears its revocation). */
  readonly granted: { readonly blockNumber: number; readonly timestamp: number };
  /** The last `ConsentUpdated` after that grant, if any. */
  readonly updated: ChainMoment | null;
  /** The revocation of this grant (the first one; a later revoke with no live grant does not move it). */
  readonly revoked: ChainMoment | null;
  /** The pair's current grant epoch (`grantEpochOf`): the one a signed grant for the pair must name. */
  readonly epoch: number;
}

/**
 * `voided`: a `ConsentRevoked` with no live grant (none, or revoked already): on chain it only bumped the pair's
 * epoch, voiding every signed grant not relayed yet; no grant is listed for it.
 */
export type GrantHistoryKind = "granted" | "updated" | "revoked" | "voided";

export interface GrantHistoryEntry {
  readonly twinId: string;
  readonly grantee: string;
  readonly kind: GrantHistoryKind;
  /** The grantor, or who revoked. */
  readonly actor: string;
  /** The terms, or null for a revocation. */
  readonly terms: GrantTermsView | null;
  readonly position: ChainPosition;
}

/**
 * `expired`: still pending on chain, but at or past `expiresAt` (the time asked): it can no longer be granted, no
 * longer counts as open (the requester may ask again), and can still be denied or withdrawn.
 */
export type ConsentRequestStatus = "pending" | "expired" | "granted" | "denied" | "withdrawn";
/** A filter on requests: one status, or `closed` for granted, denied and withdrawn together. */
export type ConsentRequestFilter = ConsentRequestStatus | "closed";

export interface ConsentRequestView {
  readonly requestId: bigint;
  readonly twinId: string;
  readonly requester: string;
  readonly categories: number;
  readonly purposes: number;
  /** Seconds asked for. */
  readonly duration: number;
  /** Hash of the off-chain reason text. */
  readonly reasonHash: string;
  /** At the time asked (see `ConsentRequestStatus`). */
  readonly status: ConsentRequestStatus;
  /** `ConsentRequest.expiresAt`: the request's block time + `REQUEST_LIFETIME`, unix seconds. */
  readonly expiresAt: number;
  readonly requested: ChainPosition;
  readonly closed: ChainMoment | null;
}

/** An `UpdateRecorded` entry of a twin's hash chain. */
export interface UpdateView {
  readonly kind: "update";
  readonly twinId: string;
  readonly sequence: bigint;
  readonly source: string;
  /** One DataCategory bit. */
  readonly category: number;
  /** keccak256 of the encrypted blob. */
  readonly contentHash: string;
  /** The content id's bytes as recorded (a binary CIDv1, or the multibase string's UTF-8 bytes), 0x-hex. */
  readonly cid: string;
  /** The hash-chain head after this update (bytes24). */
  readonly head: string;
  readonly position: ChainPosition;
}

/** A `RecordsAnchored` entry of a twin's hash chain: one EMR ingest's records under one Merkle root. */
export interface RecordBatchView {
  readonly kind: "records";
  readonly twinId: string;
  readonly sequence: bigint;
  readonly source: string;
  /** The mask of DataCategory bits the batch's records may have. */
  readonly categories: number;
  /** The records' Merkle root (a StandardMerkleTree over `["uint32","bytes32","bytes32"]`). */
  readonly recordsRoot: string;
  /** The hash-chain head after this batch (bytes24). */
  readonly head: string;
  readonly position: ChainPosition;
}

/**
 * One entry of a twin's hash chain, in sequence order: an update or a record batch. The list fits
 * `verifyUpdateChain` of src/chain/anchors.ts as it is.
 */
export type LogEntryView = UpdateView | RecordBatchView;

export interface UpdatesQuery {
  /** First sequence returned; default 1. */
  readonly fromSequence?: bigint | number;
  /** At most this many rows, 1..1000; default 100. */
  readonly limit?: number;
}

/**
 * An anchored batch of readings (`BatchAnchored`), keyed by (twin, source, root). v2 puts no count and no time
 * range on chain: they stay in the committed data off chain.
 */
export interface BatchView {
  readonly twinId: string;
  readonly source: string;
  readonly merkleRoot: string;
  readonly position: ChainPosition;
}

/** An access-log root anchored by a query gateway's operator (`TwinUpdateLog.AccessLogAnchored`). */
export interface AccessLogAnchorView {
  /** The operator (an accredited custodian), checksummed. */
  readonly operator: string;
  readonly root: string;
  /** First and last (inclusive) access-log index under the root. */
  readonly fromIndex: bigint;
  readonly toIndex: bigint;
  readonly position: ChainPosition;
}

export interface StateCommitView {
  readonly twinId: string;
  /** The custodian epoch: each commit by another custodian than the last one starts the next. */
  readonly epoch: number;
  /** The version within the epoch, from 1. */
  readonly version: bigint;
  readonly custodian: string;
  readonly stateRoot: string;
  readonly sourcesRoot: string;
  readonly position: ChainPosition;
}

/**
 * An emergency access's state at the time asked: `open` until `until`, then `expired`; `closed` when closed
 * early; `blocked` when closed by blocking the responder on the twin; `replaced` when the same responder opened
 * again on the twin before this one ended (the new one keeps the first opening, and its end is capped from it).
 */
export type EmergencyAccessStatus = "open" | "expired" | "closed" | "blocked" | "replaced";

export interface EmergencyAccessView {
  readonly twinId: string;
  readonly responder: string;
  /** When the access ends, unix seconds. */
  readonly until: number;
  readonly categories: number;
  readonly reasonHash: string;
  readonly status: EmergencyAccessStatus;
  readonly opened: ChainPosition;
  /**
   * When the access was first opened (`EmergencyAccess.openedAt`): this opening's time, or, for a re-opening while
   * open, the first one's. The contract caps `until` at this + the policy's maximum.
   */
  readonly firstOpenedAt: number;
  /** Close or replacement; `by` is null for a replacement. */
  readonly ended: ChainMoment | null;
  /**
   * Set when a controller closed it (not the responder, not a block): before this time the responder cannot open
   * again on the twin (`EMERGENCY_COOLDOWN`).
   */
  readonly cooldownUntil: number | null;
}

/** An account blocked on a twin (`AccountBlocked`): it can neither open emergency access nor request consent. */
export interface BlockedAccountView {
  readonly twinId: string;
  readonly account: string;
  /** The `AccountBlocked(..., true)` in force. */
  readonly since: ChainPosition;
}

/** A grant-signature nonce its signer cancelled (`NonceCancelled`). */
export interface CancelledNonceView {
  readonly signer: string;
  readonly nonce: bigint;
  readonly position: ChainPosition;
}

/** The registry's default admin (AccessControlDefaultAdminRules) and its pending two-step changes. */
export interface DefaultAdminView {
  /** The DEFAULT_ADMIN_ROLE holder, or null (none indexed, or renounced). */
  readonly admin: string | null;
  /** A transfer begun and neither accepted nor cancelled: `newAdmin` may accept from `acceptSchedule` on. */
  readonly pendingTransfer: { readonly newAdmin: string; readonly acceptSchedule: number } | null;
  /**
   * The last delay change scheduled and not cancelled: `newDelay` (seconds) applies from `effectSchedule` on (in
   * force once that time has passed; the contract emits nothing then).
   */
  readonly delayChange: { readonly newDelay: number; readonly effectSchedule: number } | null;
}

/** The registry's AccessControl role names the indexer knows; other roles are reported by their hash. */
export type RoleName = "DEFAULT_ADMIN_ROLE" | "GOVERNANCE_ROLE" | "CUSTODIAN_ROLE" | "EMERGENCY_RESPONDER_ROLE";

export interface RoleMemberView {
  /** The role's name when known, else its bytes32 hash. */
  readonly role: RoleName | string;
  readonly account: string;
  readonly since: ChainMoment;
}

/** One log of a followed contract, for audit timelines. */
export interface IndexedEventView {
  /** `registry`, `consent`, `updateLog`, or an extension's name. */
  readonly contract: string;
  readonly address: string;
  /** The event's name, or null when no known ABI decodes it. */
  readonly name: string | null;
  readonly twinId: string | null;
  readonly position: ChainPosition;
}

/** Options of the time-dependent queries. */
export interface AtTime {
  /**
   * Unix seconds at which statuses are computed; default now: the wall clock, or the last indexed block's
   * timestamp when that is later.
   */
  readonly at?: number;
}
