import { id as keccakId, ZeroHash } from "ethers";
import type { SourceKind, TwinStatus } from "../vocabulary";
import { decodeUint } from "./codec";
import type {
  BatchView,
  BlockedAccountView,
  ChainMoment,
  ChainPosition,
  ConsentRequestStatus,
  ConsentRequestView,
  ConsentStatus,
  ConsentView,
  DelegateEndReason,
  DelegateView,
  EmergencyAccessStatus,
  EmergencyAccessView,
  EmergencyPolicyView,
  GrantHistoryEntry,
  GrantHistoryKind,
  LogEntryView,
  RecordBatchView,
  RoleName,
  SourceAuthorizationView,
  TwinHistoryEntry,
  TwinHistoryKind,
  TwinSummary,
} from "./types";

/** Row shapes of the indexer's tables as both backends return them, and their mapping to the query types. */

// ---------------------------------------------------------------------------------------------------------------
// Row shapes, as both backends return them (pg parses BIGINT into numbers: see store/postgres.ts)
// ---------------------------------------------------------------------------------------------------------------

export interface PositionRow {
  block_number: number;
  log_index: number;
  block_timestamp: number;
  tx_hash: string;
}

export interface TwinRow {
  twin_id: string;
  owner: string;
  custodian: string;
  status: number;
  metadata_commitment: string;
  pending_owner: string | null;
  created_block: number;
  created_log_index: number;
  created_at: number;
  created_tx: string;
  updated_block: number;
  updated_at: number;
}

export interface SourceRow {
  twin_id: string;
  source: string;
  kind: number;
  categories: number;
  authorized_block: number;
  authorized_log_index: number;
  authorized_at: number;
  authorized_tx: string;
  removed_block: number | null;
  removed_at: number | null;
}

export interface DelegateRow {
  twin_id: string;
  delegate: string;
  appointed_block: number;
  appointed_log_index: number;
  appointed_at: number;
  appointed_tx: string;
  removed_block: number | null;
  removed_at: number | null;
  removed_by: string | null;
  end_reason: string | null;
}

export interface EmergencyPolicyRow {
  allowed: number;
  max_duration: number;
  categories: number;
  set_block: number;
  set_at: number;
}

export interface HistoryRow extends PositionRow {
  twin_id: string;
  kind: string;
  previous: string | null;
  next: string | null;
  actor: string | null;
}

export interface ConsentRow {
  twin_id: string;
  grantee: string;
  grantor: string;
  categories: number;
  actions: number;
  purposes: number;
  valid_from: number;
  valid_until: number;
  granted_block: number;
  granted_at: number;
  updated_block: number | null;
  updated_at: number | null;
  updated_by: string | null;
  revoked_block: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  epoch: number | null;
}

export interface ConsentHistoryRow extends PositionRow {
  twin_id: string;
  grantee: string;
  kind: string;
  actor: string;
  categories: number | null;
  actions: number | null;
  purposes: number | null;
  valid_from: number | null;
  valid_until: number | null;
}

export interface RequestRow extends PositionRow {
  request_id: string;
  twin_id: string;
  requester: string;
  categories: number;
  purposes: number;
  duration: number;
  reason_hash: string;
  status: number;
  expires_at: number;
  closed_block: number | null;
  closed_at: number | null;
  closed_by: string | null;
}

export interface EmergencyAccessRow extends PositionRow {
  twin_id: string;
  responder: string;
  until: number;
  categories: number;
  reason_hash: string;
  ended_block: number | null;
  ended_at: number | null;
  ended_by: string | null;
  end_reason: string | null;
  first_opened_at: number;
  cooldown_until: number | null;
}

/** A row of the union of `updates` and `record_batches` (see `updatesOf`). */
export interface LogEntryRow extends PositionRow {
  kind: "update" | "records";
  twin_id: string;
  sequence: string;
  source: string;
  category: number | null;
  categories: number | null;
  content_hash: string | null;
  cid: string | null;
  records_root: string | null;
  head: string;
}

export interface RecordBatchRow extends PositionRow {
  twin_id: string;
  sequence: string;
  source: string;
  categories: number;
  records_root: string;
  head: string;
}

export interface BatchRow extends PositionRow {
  twin_id: string;
  source: string;
  merkle_root: string;
}

export interface BlockedRow {
  twin_id: string;
  account: string;
  changed_block: number;
  changed_log_index: number;
  changed_at: number;
  changed_tx: string;
}

export interface NonceRow extends PositionRow {
  signer: string;
  nonce: string;
}

export interface DefaultAdminRow {
  pending_admin: string | null;
  accept_schedule: number | null;
  pending_delay: number | null;
  delay_schedule: number | null;
}

export interface AccessLogAnchorRow extends PositionRow {
  operator: string;
  root: string;
  from_index: string;
  to_index: string;
}

export interface StateCommitRow extends PositionRow {
  twin_id: string;
  epoch: number;
  version: string;
  custodian: string;
  state_root: string;
  sources_root: string;
}

export interface RoleRow {
  role: string;
  account: string;
  changed_block: number;
  changed_at: number;
  changed_by: string;
}

export interface EventRow extends PositionRow {
  contract: string;
  address: string;
  name: string | null;
  twin_id: string | null;
}

export interface CheckpointRow {
  block_number: number;
  block_hash: string | null;
  block_timestamp: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------------------------

/** `IConsentPolicy.RequestStatus` by value. */
export const REQUEST_STATUS: Readonly<Record<number, ConsentRequestStatus>> = {
  1: "pending",
  2: "granted",
  3: "denied",
  4: "withdrawn",
};
export const REQUEST_STATUS_VALUE: Readonly<Record<Exclude<ConsentRequestStatus, "pending" | "expired">, number>> = {
  granted: 2,
  denied: 3,
  withdrawn: 4,
};

export const ROLE_NAMES: ReadonlyMap<string, RoleName> = new Map<string, RoleName>([
  [ZeroHash, "DEFAULT_ADMIN_ROLE"],
  [keccakId("GOVERNANCE_ROLE"), "GOVERNANCE_ROLE"],
  [keccakId("CUSTODIAN_ROLE"), "CUSTODIAN_ROLE"],
  [keccakId("EMERGENCY_RESPONDER_ROLE"), "EMERGENCY_RESPONDER_ROLE"],
]);

export const OWNERSHIP_KINDS: readonly TwinHistoryKind[] = [
  "created",
  "ownership-transfer-started",
  "ownership-transfer-cancelled",
  "ownership-transferred",
];

export const MAX_LIMIT = 1000;

export function pos(row: PositionRow): ChainPosition {
  return {
    blockNumber: row.block_number,
    logIndex: row.log_index,
    timestamp: row.block_timestamp,
    transactionHash: row.tx_hash,
  };
}

export function moment(block: number | null, timestamp: number | null, by: string | null): ChainMoment | null {
  return block === null || timestamp === null ? null : { blockNumber: block, timestamp, by };
}

export function twinSummary(row: TwinRow): TwinSummary {
  return {
    twinId: row.twin_id,
    owner: row.owner,
    custodian: row.custodian,
    status: row.status as TwinStatus,
    metadataCommitment: row.metadata_commitment,
    pendingOwner: row.pending_owner,
    created: {
      blockNumber: row.created_block,
      logIndex: row.created_log_index,
      timestamp: row.created_at,
      transactionHash: row.created_tx,
    },
    updatedBlock: row.updated_block,
    updatedAt: row.updated_at,
  };
}

export function source(row: SourceRow): SourceAuthorizationView {
  return {
    twinId: row.twin_id,
    source: row.source,
    kind: row.kind as SourceKind,
    categories: row.categories,
    authorized: {
      blockNumber: row.authorized_block,
      logIndex: row.authorized_log_index,
      timestamp: row.authorized_at,
      transactionHash: row.authorized_tx,
    },
    removed: moment(row.removed_block, row.removed_at, null),
    active: row.removed_block === null,
  };
}

export function delegate(row: DelegateRow): DelegateView {
  return {
    twinId: row.twin_id,
    delegate: row.delegate,
    appointed: {
      blockNumber: row.appointed_block,
      logIndex: row.appointed_log_index,
      timestamp: row.appointed_at,
      transactionHash: row.appointed_tx,
    },
    removed: moment(row.removed_block, row.removed_at, row.removed_by),
    endReason: row.removed_block === null ? null : ((row.end_reason ?? "removed") as DelegateEndReason),
    active: row.removed_block === null,
  };
}

export function consentStatus(row: ConsentRow, at: number): ConsentStatus {
  if (row.revoked_block !== null) return "revoked";
  if (at >= row.valid_until) return "expired";
  if (at < row.valid_from) return "scheduled";
  return "active";
}

export function consent(row: ConsentRow, at: number): ConsentView {
  return {
    twinId: row.twin_id,
    grantee: row.grantee,
    grantor: row.grantor,
    categories: row.categories,
    actions: row.actions,
    purposes: row.purposes,
    validFrom: row.valid_from,
    validUntil: row.valid_until,
    status: consentStatus(row, at),
    granted: { blockNumber: row.granted_block, timestamp: row.granted_at },
    updated: moment(row.updated_block, row.updated_at, row.updated_by),
    revoked: moment(row.revoked_block, row.revoked_at, row.revoked_by),
    epoch: row.epoch ?? 0,
  };
}

export function grantHistoryEntry(row: ConsentHistoryRow): GrantHistoryEntry {
  const terms =
    row.categories === null ||
    row.actions === null ||
    row.purposes === null ||
    row.valid_from === null ||
    row.valid_until === null
      ? null
      : {
          categories: row.categories,
          actions: row.actions,
          purposes: row.purposes,
          validFrom: row.valid_from,
          validUntil: row.valid_until,
        };
  return {
    twinId: row.twin_id,
    grantee: row.grantee,
    kind: row.kind as GrantHistoryKind,
    actor: row.actor,
    terms,
    position: pos(row),
  };
}

export function requestStatus(row: RequestRow, at: number): ConsentRequestStatus {
  const status = REQUEST_STATUS[row.status] ?? "pending";
  // expires_at 0 marks a row migrated from a v1 database (the v1 contracts had no expiry): it never expires.
  if (status === "pending" && row.expires_at !== 0 && at >= row.expires_at) return "expired";
  return status;
}

export function request(row: RequestRow, at: number): ConsentRequestView {
  return {
    requestId: decodeUint(row.request_id),
    twinId: row.twin_id,
    requester: row.requester,
    categories: row.categories,
    purposes: row.purposes,
    duration: row.duration,
    reasonHash: row.reason_hash,
    status: requestStatus(row, at),
    expiresAt: row.expires_at,
    requested: pos(row),
    closed: moment(row.closed_block, row.closed_at, row.closed_by),
  };
}

export function emergencyAccess(row: EmergencyAccessRow, at: number): EmergencyAccessView {
  let status: EmergencyAccessStatus;
  if (row.end_reason === "closed") status = "closed";
  else if (row.end_reason === "blocked") status = "blocked";
  else if (row.end_reason === "replaced") status = "replaced";
  else status = at < row.until ? "open" : "expired";
  return {
    twinId: row.twin_id,
    responder: row.responder,
    until: row.until,
    categories: row.categories,
    reasonHash: row.reason_hash,
    status,
    opened: pos(row),
    firstOpenedAt: row.first_opened_at,
    ended: moment(row.ended_block, row.ended_at, row.ended_by),
    cooldownUntil: row.cooldown_until,
  };
}

export function logEntry(row: LogEntryRow): LogEntryView {
  if (row.kind === "records") {
    return recordBatch({ ...row, categories: row.categories ?? 0, records_root: row.records_root ?? "" });
  }
  return {
    kind: "update",
    twinId: row.twin_id,
    sequence: decodeUint(row.sequence),
    source: row.source,
    category: row.category ?? 0,
    contentHash: row.content_hash ?? "",
    cid: row.cid ?? "",
    head: row.head,
    position: pos(row),
  };
}

export function recordBatch(row: RecordBatchRow): RecordBatchView {
  return {
    kind: "records",
    twinId: row.twin_id,
    sequence: decodeUint(row.sequence),
    source: row.source,
    categories: row.categories,
    recordsRoot: row.records_root,
    head: row.head,
    position: pos(row),
  };
}

export function batch(row: BatchRow): BatchView {
  return { twinId: row.twin_id, source: row.source, merkleRoot: row.merkle_root, position: pos(row) };
}

export function historyEntry(row: HistoryRow): TwinHistoryEntry {
  return {
    twinId: row.twin_id,
    kind: row.kind as TwinHistoryKind,
    previous: row.previous,
    next: row.next,
    actor: row.actor,
    position: pos(row),
  };
}

export function blocked(row: BlockedRow): BlockedAccountView {
  return {
    twinId: row.twin_id,
    account: row.account,
    since: {
      blockNumber: row.changed_block,
      logIndex: row.changed_log_index,
      timestamp: row.changed_at,
      transactionHash: row.changed_tx,
    },
  };
}

export function emergencyPolicy(row: EmergencyPolicyRow): EmergencyPolicyView {
  return {
    allowed: row.allowed !== 0,
    maxDuration: row.max_duration,
    categories: row.categories,
    set: { blockNumber: row.set_block, timestamp: row.set_at },
  };
}
