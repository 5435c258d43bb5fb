import type Database from "better-sqlite3";
import { id as keccakId, ZeroHash } from "ethers";
import { verifyUpdateChain, type LogHeadLike, type UpdateChainVerification } from "../chain/anchors";
import type { SourceKind, TwinStatus } from "../vocabulary";
import {
  addressArg,
  atArg,
  bytes32Arg,
  decodeUint,
  encodeUint256,
  encodeUint64,
  intArg,
  twinIdArg,
  uint256Arg,
  uint64Arg,
} from "./codec";
import { IndexerError } from "./errors";
import type {
  AccessLogAnchorView,
  AtTime,
  BatchView,
  BlockedAccountView,
  CancelledNonceView,
  ChainMoment,
  ChainPosition,
  Checkpoint,
  ConsentRequestFilter,
  ConsentRequestStatus,
  ConsentRequestView,
  ConsentStatus,
  ConsentView,
  DefaultAdminView,
  DelegateEndReason,
  DelegateView,
  EmergencyAccessStatus,
  EmergencyAccessView,
  EmergencyPolicyView,
  GrantHistoryEntry,
  GrantHistoryKind,
  IndexedEventView,
  LogEntryView,
  RecordBatchView,
  RoleMemberView,
  RoleName,
  SourceAuthorizationView,
  StateCommitView,
  TwinDetails,
  TwinHistoryEntry,
  TwinHistoryKind,
  TwinSummary,
  UpdatesQuery,
} from "./types";

// ---------------------------------------------------------------------------------------------------------------
// Row shapes, as SQLite returns them
// ---------------------------------------------------------------------------------------------------------------

interface PositionRow {
  block_number: number;
  log_index: number;
  block_timestamp: number;
  tx_hash: string;
}

interface TwinRow {
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

interface SourceRow {
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

interface DelegateRow {
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

interface EmergencyPolicyRow {
  allowed: number;
  max_duration: number;
  categories: number;
  set_block: number;
  set_at: number;
}

interface HistoryRow extends PositionRow {
  twin_id: string;
  kind: string;
  previous: string | null;
  next: string | null;
  actor: string | null;
}

interface ConsentRow {
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

interface ConsentHistoryRow extends PositionRow {
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

interface RequestRow extends PositionRow {
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

interface EmergencyAccessRow extends PositionRow {
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
interface LogEntryRow extends PositionRow {
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

interface RecordBatchRow extends PositionRow {
  twin_id: string;
  sequence: string;
  source: string;
  categories: number;
  records_root: string;
  head: string;
}

interface BatchRow extends PositionRow {
  twin_id: string;
  source: string;
  merkle_root: string;
}

interface BlockedRow {
  twin_id: string;
  account: string;
  changed_block: number;
  changed_log_index: number;
  changed_at: number;
  changed_tx: string;
}

interface NonceRow extends PositionRow {
  signer: string;
  nonce: string;
}

interface DefaultAdminRow {
  pending_admin: string | null;
  accept_schedule: number | null;
  pending_delay: number | null;
  delay_schedule: number | null;
}

interface AccessLogAnchorRow extends PositionRow {
  operator: string;
  root: string;
  from_index: string;
  to_index: string;
}

interface StateCommitRow extends PositionRow {
  twin_id: string;
  epoch: number;
  version: string;
  custodian: string;
  state_root: string;
  sources_root: string;
}

interface RoleRow {
  role: string;
  account: string;
  changed_block: number;
  changed_at: number;
  changed_by: string;
}

interface EventRow extends PositionRow {
  contract: string;
  address: string;
  name: string | null;
  twin_id: string | null;
}

interface CheckpointRow {
  block_number: number;
  block_hash: string | null;
  block_timestamp: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------------------------

/** `IConsentPolicy.RequestStatus` by value. */
const REQUEST_STATUS: Readonly<Record<number, ConsentRequestStatus>> = {
  1: "pending",
  2: "granted",
  3: "denied",
  4: "withdrawn",
};
const REQUEST_STATUS_VALUE: Readonly<Record<Exclude<ConsentRequestStatus, "pending" | "expired">, number>> = {
  granted: 2,
  denied: 3,
  withdrawn: 4,
};

const ROLE_NAMES: ReadonlyMap<string, RoleName> = new Map<string, RoleName>([
  [ZeroHash, "DEFAULT_ADMIN_ROLE"],
  [keccakId("GOVERNANCE_ROLE"), "GOVERNANCE_ROLE"],
  [keccakId("CUSTODIAN_ROLE"), "CUSTODIAN_ROLE"],
  [keccakId("EMERGENCY_RESPONDER_ROLE"), "EMERGENCY_RESPONDER_ROLE"],
]);

const OWNERSHIP_KINDS: readonly TwinHistoryKind[] = [
  "created",
  "ownership-transfer-started",
  "ownership-transfer-cancelled",
  "ownership-transferred",
];

const MAX_LIMIT = 1000;

function pos(row: PositionRow): ChainPosition {
  return {
    blockNumber: row.block_number,
    logIndex: row.log_index,
    timestamp: row.block_timestamp,
    transactionHash: row.tx_hash,
  };
}

function moment(block: number | null, timestamp: number | null, by: string | null): ChainMoment | null {
  return block === null || timestamp === null ? null : { blockNumber: block, timestamp, by };
}

function twinSummary(row: TwinRow): TwinSummary {
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

function source(row: SourceRow): SourceAuthorizationView {
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

function delegate(row: DelegateRow): DelegateView {
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

function consentStatus(row: ConsentRow, at: number): ConsentStatus {
  if (row.revoked_block !== null) return "revoked";
  if (at >= row.valid_until) return "expired";
  if (at < row.valid_from) return "scheduled";
  return "active";
}

function consent(row: ConsentRow, at: number): ConsentView {
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

function grantHistoryEntry(row: ConsentHistoryRow): GrantHistoryEntry {
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

function requestStatus(row: RequestRow, at: number): ConsentRequestStatus {
  const status = REQUEST_STATUS[row.status] ?? "pending";
  // expires_at 0 marks a row migrated from a v1 database (the v1 contracts had no expiry): it never expires.
  if (status === "pending" && row.expires_at !== 0 && at >= row.expires_at) return "expired";
  return status;
}

function request(row: RequestRow, at: number): ConsentRequestView {
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

function emergencyAccess(row: EmergencyAccessRow, at: number): EmergencyAccessView {
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

function logEntry(row: LogEntryRow): LogEntryView {
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

function recordBatch(row: RecordBatchRow): RecordBatchView {
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

function batch(row: BatchRow): BatchView {
  return { twinId: row.twin_id, source: row.source, merkleRoot: row.merkle_root, position: pos(row) };
}

function historyEntry(row: HistoryRow): TwinHistoryEntry {
  return {
    twinId: row.twin_id,
    kind: row.kind as TwinHistoryKind,
    previous: row.previous,
    next: row.next,
    actor: row.actor,
    position: pos(row),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------------------------

/** The read side over the indexer's tables. Arguments are validated and normalized; see types.ts for the shapes. */
export class IndexerQueries {
  private readonly q;

  constructor(protected readonly db: Database.Database) {
    this.q = {
      checkpoint: db.prepare("SELECT block_number, block_hash, block_timestamp FROM checkpoint WHERE id = 1"),
      twin: db.prepare("SELECT * FROM twins WHERE twin_id = ?"),
      twinsOf: db.prepare("SELECT * FROM twins WHERE owner = ? ORDER BY created_block, created_log_index"),
      twinsInCustody: db.prepare("SELECT * FROM twins WHERE custodian = ? ORDER BY created_block, created_log_index"),
      sourcesOf: db.prepare("SELECT * FROM sources WHERE twin_id = ? ORDER BY authorized_block, source"),
      activeSourcesOf: db.prepare(
        "SELECT * FROM sources WHERE twin_id = ? AND removed_block IS NULL ORDER BY authorized_block, source",
      ),
      bySource: db.prepare(
        "SELECT * FROM sources WHERE source = ? AND removed_block IS NULL ORDER BY authorized_block, twin_id",
      ),
      delegatesOf: db.prepare(
        "SELECT * FROM delegates WHERE twin_id = ? AND removed_block IS NULL ORDER BY appointed_block, delegate",
      ),
      byDelegate: db.prepare(
        "SELECT * FROM delegates WHERE delegate = ? AND removed_block IS NULL ORDER BY appointed_block, twin_id",
      ),
      emergencyPolicy: db.prepare("SELECT * FROM emergency_policies WHERE twin_id = ?"),
      history: db.prepare("SELECT * FROM twin_history WHERE twin_id = ? ORDER BY block_number, log_index"),
      consentsOf: db.prepare(`
        SELECT c.*, e.epoch FROM consents c LEFT JOIN grant_epochs e USING (twin_id, grantee)
        WHERE c.twin_id = ? ORDER BY c.granted_block, c.grantee`),
      consentsTo: db.prepare(`
        SELECT c.*, e.epoch FROM consents c LEFT JOIN grant_epochs e USING (twin_id, grantee)
        WHERE c.grantee = ? ORDER BY c.granted_block, c.twin_id`),
      grantEpoch: db.prepare("SELECT epoch FROM grant_epochs WHERE twin_id = ? AND grantee = ?"),
      grantHistory: db.prepare("SELECT * FROM consent_history WHERE twin_id = ? ORDER BY block_number, log_index"),
      grantHistoryOf: db.prepare(
        "SELECT * FROM consent_history WHERE twin_id = ? AND grantee = ? ORDER BY block_number, log_index",
      ),
      request: db.prepare("SELECT * FROM consent_requests WHERE request_id = ?"),
      requestsOf: db.prepare("SELECT * FROM consent_requests WHERE twin_id = ? ORDER BY block_number, log_index"),
      requestsOfStatus: db.prepare(
        "SELECT * FROM consent_requests WHERE twin_id = ? AND status = ? ORDER BY block_number, log_index",
      ),
      requestsPending: db.prepare(`
        SELECT * FROM consent_requests WHERE twin_id = @twin_id AND status = 1
          AND (expires_at = 0 OR expires_at > @at) ORDER BY block_number, log_index`),
      requestsExpired: db.prepare(`
        SELECT * FROM consent_requests WHERE twin_id = @twin_id AND status = 1
          AND expires_at <> 0 AND expires_at <= @at ORDER BY block_number, log_index`),
      requestsOfClosed: db.prepare(
        "SELECT * FROM consent_requests WHERE twin_id = ? AND status <> 1 ORDER BY block_number, log_index",
      ),
      requestsBy: db.prepare("SELECT * FROM consent_requests WHERE requester = ? ORDER BY block_number, log_index"),
      updatesOf: db.prepare(`
        SELECT 'update' AS kind, twin_id, sequence, source, category, NULL AS categories, content_hash, cid,
               NULL AS records_root, head, block_number, log_index, block_timestamp, tx_hash
        FROM updates WHERE twin_id = @twin_id AND sequence >= @from
        UNION ALL
        SELECT 'records' AS kind, twin_id, sequence, source, NULL AS category, categories, NULL AS content_hash,
               NULL AS cid, records_root, head, block_number, log_index, block_timestamp, tx_hash
        FROM record_batches WHERE twin_id = @twin_id AND sequence >= @from
        ORDER BY sequence LIMIT @limit`),
      updateCount: db.prepare(`
        SELECT (SELECT COUNT(*) FROM updates WHERE twin_id = @twin_id)
             + (SELECT COUNT(*) FROM record_batches WHERE twin_id = @twin_id) AS n`),
      recordBatchesOf: db.prepare("SELECT * FROM record_batches WHERE twin_id = ? ORDER BY sequence"),
      recordBatch: db.prepare("SELECT * FROM record_batches WHERE twin_id = ? AND source = ? AND records_root = ?"),
      batchesOf: db.prepare("SELECT * FROM batches WHERE twin_id = ? ORDER BY block_number, log_index"),
      batch: db.prepare("SELECT * FROM batches WHERE twin_id = ? AND source = ? AND merkle_root = ?"),
      stateCommitsOf: db.prepare("SELECT * FROM state_commits WHERE twin_id = ? ORDER BY block_number, log_index"),
      blockedOf: db.prepare(
        "SELECT * FROM blocked_accounts WHERE twin_id = ? AND blocked = 1 ORDER BY changed_block, changed_log_index",
      ),
      blocked: db.prepare("SELECT * FROM blocked_accounts WHERE twin_id = ? AND account = ? AND blocked = 1"),
      noncesOf: db.prepare("SELECT * FROM cancelled_nonces WHERE signer = ? ORDER BY nonce"),
      nonce: db.prepare("SELECT * FROM cancelled_nonces WHERE signer = ? AND nonce = ?"),
      defaultAdmin: db.prepare("SELECT * FROM default_admin WHERE id = 1"),
      accessLogAnchorsOf: db.prepare(
        "SELECT * FROM access_log_anchors WHERE operator = ? ORDER BY from_index, block_number, log_index",
      ),
      emergencyOf: db.prepare("SELECT * FROM emergency_accesses WHERE twin_id = ? ORDER BY block_number, log_index"),
      emergencyBy: db.prepare("SELECT * FROM emergency_accesses WHERE responder = ? ORDER BY block_number, log_index"),
      roles: db.prepare("SELECT * FROM role_members WHERE active = 1 ORDER BY changed_block, role, account"),
      rolesOf: db.prepare("SELECT * FROM role_members WHERE active = 1 AND role = ? ORDER BY changed_block, account"),
      eventsOf: db.prepare("SELECT * FROM events WHERE twin_id = ? ORDER BY block_number, log_index"),
      eventCount: db.prepare("SELECT COUNT(*) AS n FROM events"),
    };
  }

  /**
   * Runs `fn` on the database, for extensions' own queries (see `IndexerExtension`). Use it to read; writes
   * outside the sync's transactions would bypass the checkpoint.
   */
  read<T>(fn: (db: Database.Database) => T): T {
    return fn(this.db);
  }

  /**
   * The default time of status queries: the wall clock, or the last indexed block's timestamp if that is later
   * (a chain whose clock runs ahead, as a test network's can). Never earlier than the indexed chain.
   */
  now(): number {
    const wall = Math.floor(Date.now() / 1000);
    return Math.max(wall, this.checkpoint().blockTimestamp ?? 0);
  }

  /** The last block fully indexed. */
  checkpoint(): Checkpoint {
    const row = this.q.checkpoint.get() as CheckpointRow | undefined;
    if (!row) throw new IndexerError("INDEXER_SCHEMA", "the checkpoint row is missing");
    return { blockNumber: row.block_number, blockHash: row.block_hash, blockTimestamp: row.block_timestamp };
  }

  twin(twinId: string): TwinDetails | null {
    const id = twinIdArg(twinId);
    const row = this.q.twin.get(id) as TwinRow | undefined;
    if (!row) return null;
    const policy = this.q.emergencyPolicy.get(id) as EmergencyPolicyRow | undefined;
    return {
      ...twinSummary(row),
      sources: (this.q.activeSourcesOf.all(id) as SourceRow[]).map(source),
      delegates: (this.q.delegatesOf.all(id) as DelegateRow[]).map(delegate),
      emergencyPolicy: policy ? emergencyPolicy(policy) : null,
    };
  }

  twinsOf(owner: string): TwinSummary[] {
    return (this.q.twinsOf.all(addressArg("owner", owner)) as TwinRow[]).map(twinSummary);
  }

  twinsInCustody(custodian: string): TwinSummary[] {
    return (this.q.twinsInCustody.all(addressArg("custodian", custodian)) as TwinRow[]).map(twinSummary);
  }

  sourcesOf(twinId: string, options: { includeRemoved?: boolean } = {}): SourceAuthorizationView[] {
    const id = twinIdArg(twinId);
    const rows = options.includeRemoved ? this.q.sourcesOf.all(id) : this.q.activeSourcesOf.all(id);
    return (rows as SourceRow[]).map(source);
  }

  twinsOfSource(sourceAddress: string): SourceAuthorizationView[] {
    return (this.q.bySource.all(addressArg("source", sourceAddress)) as SourceRow[]).map(source);
  }

  delegatesOf(twinId: string): DelegateView[] {
    return (this.q.delegatesOf.all(twinIdArg(twinId)) as DelegateRow[]).map(delegate);
  }

  twinsDelegatedTo(delegateAddress: string): DelegateView[] {
    return (this.q.byDelegate.all(addressArg("delegate", delegateAddress)) as DelegateRow[]).map(delegate);
  }

  historyOf(twinId: string): TwinHistoryEntry[] {
    return (this.q.history.all(twinIdArg(twinId)) as HistoryRow[]).map(historyEntry);
  }

  ownershipHistory(twinId: string): TwinHistoryEntry[] {
    return this.historyOf(twinId).filter((entry) => OWNERSHIP_KINDS.includes(entry.kind));
  }

  consentsOf(twinId: string, options: AtTime = {}): ConsentView[] {
    const at = atArg(options.at, () => this.now());
    return (this.q.consentsOf.all(twinIdArg(twinId)) as ConsentRow[]).map((row) => consent(row, at));
  }

  grantsTo(grantee: string, options: AtTime = {}): ConsentView[] {
    const at = atArg(options.at, () => this.now());
    return (this.q.consentsTo.all(addressArg("grantee", grantee)) as ConsentRow[]).map((row) => consent(row, at));
  }

  grantHistory(twinId: string, grantee?: string): GrantHistoryEntry[] {
    const id = twinIdArg(twinId);
    const rows =
      grantee === undefined
        ? this.q.grantHistory.all(id)
        : this.q.grantHistoryOf.all(id, addressArg("grantee", grantee));
    return (rows as ConsentHistoryRow[]).map(grantHistoryEntry);
  }

  /**
   * The pair's grant epoch (`ConsentPolicy.grantEpochOf`), counted from its `ConsentGranted`, `ConsentUpdated` and
   * `ConsentRevoked` events (a revoke with no live grant too); 0 for a pair never touched.
   */
  grantEpochOf(twinId: string, grantee: string): number {
    const row = this.q.grantEpoch.get(twinIdArg(twinId), addressArg("grantee", grantee)) as
      { epoch: number } | undefined;
    return row?.epoch ?? 0;
  }

  /** A request by id, with its status at `at` (`expired` once a pending request's `expiresAt` has passed). */
  request(requestId: bigint | number, options: AtTime = {}): ConsentRequestView | null {
    const at = atArg(options.at, () => this.now());
    const row = this.q.request.get(encodeUint256(uint256Arg("requestId", requestId))) as RequestRow | undefined;
    return row ? request(row, at) : null;
  }

  /**
   * The twin's requests, in order, all or of one status at `at`: `pending` (open: pending and unexpired),
   * `expired` (pending on chain, past `expiresAt`), `granted`, `denied`, `withdrawn`, or `closed` (the last three).
   */
  requestsOf(twinId: string, status?: ConsentRequestFilter, options: AtTime = {}): ConsentRequestView[] {
    const id = twinIdArg(twinId);
    const at = atArg(options.at, () => this.now());
    let rows: unknown[];
    if (status === undefined) rows = this.q.requestsOf.all(id);
    else if (status === "closed") rows = this.q.requestsOfClosed.all(id);
    else if (status === "pending") rows = this.q.requestsPending.all({ twin_id: id, at });
    else if (status === "expired") rows = this.q.requestsExpired.all({ twin_id: id, at });
    else {
      const value = REQUEST_STATUS_VALUE[status];
      if (value === undefined) {
        throw new IndexerError(
          "INDEXER_INVALID_ARGUMENT",
          "status must be pending, expired, granted, denied, withdrawn or closed",
        );
      }
      rows = this.q.requestsOfStatus.all(id, value);
    }
    return (rows as RequestRow[]).map((row) => request(row, at));
  }

  requestsBy(requester: string, options: AtTime = {}): ConsentRequestView[] {
    const at = atArg(options.at, () => this.now());
    return (this.q.requestsBy.all(addressArg("requester", requester)) as RequestRow[]).map((row) => request(row, at));
  }

  /**
   * The twin's hash chain from `fromSequence` on, in sequence order: updates (`UpdateRecorded`, kind `update`) and
   * record batches (`RecordsAnchored`, kind `records`), which share one sequence.
   */
  updatesOf(twinId: string, query: UpdatesQuery = {}): LogEntryView[] {
    const id = twinIdArg(twinId);
    const from = uint64Arg("fromSequence", query.fromSequence ?? 1n);
    const limit = intArg("limit", query.limit, 100, 1, MAX_LIMIT);
    return (this.q.updatesOf.all({ twin_id: id, from: encodeUint64(from), limit }) as LogEntryRow[]).map(logEntry);
  }

  /** Number of entries of the twin's hash chain indexed (updates and record batches): its sequence. */
  updateCount(twinId: string): number {
    return (this.q.updateCount.get({ twin_id: twinIdArg(twinId) }) as { n: number }).n;
  }

  /**
   * Rebuilds the twin's whole hash chain from the indexed entries with `verifyUpdateChain` (src/chain/anchors.ts)
   * and checks it against `expectedHead` (the on-chain `logHeadOf(twinId)`), or, without one, only that the
   * entries hash to one another (the last indexed head is then the expected one).
   */
  verifyLogChain(twinId: string, expectedHead?: LogHeadLike): UpdateChainVerification {
    const id = twinIdArg(twinId);
    const entries: LogEntryView[] = [];
    for (let from = 1n; ;) {
      const page = this.updatesOf(id, { fromSequence: from, limit: MAX_LIMIT });
      entries.push(...page);
      if (page.length < MAX_LIMIT) break;
      from = page[page.length - 1].sequence + 1n;
    }
    const last = entries.at(-1);
    const expected = expectedHead ?? {
      sequence: last?.sequence ?? 0n,
      head: last?.head ?? `0x${"00".repeat(24)}`,
    };
    return verifyUpdateChain(entries, expected);
  }

  /** The twin's record batches (`RecordsAnchored`), by sequence. */
  recordBatchesOf(twinId: string): RecordBatchView[] {
    return (this.q.recordBatchesOf.all(twinIdArg(twinId)) as RecordBatchRow[]).map(recordBatch);
  }

  /** The record batch a source anchored under this root (as `recordBatchOf` keys it), or null. */
  recordBatch(twinId: string, sourceAddress: string, recordsRoot: string): RecordBatchView | null {
    const row = this.q.recordBatch.get(
      twinIdArg(twinId),
      addressArg("source", sourceAddress),
      bytes32Arg("recordsRoot", recordsRoot),
    ) as RecordBatchRow | undefined;
    return row ? recordBatch(row) : null;
  }

  /** The twin's reading batches (`BatchAnchored`), in chain order. */
  batchesOf(twinId: string): BatchView[] {
    return (this.q.batchesOf.all(twinIdArg(twinId)) as BatchRow[]).map(batch);
  }

  /** The reading batch a source anchored under this root (as `batchOf` keys it), or null. */
  batch(twinId: string, sourceAddress: string, merkleRoot: string): BatchView | null {
    const row = this.q.batch.get(
      twinIdArg(twinId),
      addressArg("source", sourceAddress),
      bytes32Arg("merkleRoot", merkleRoot),
    ) as BatchRow | undefined;
    return row ? batch(row) : null;
  }

  /** The twin's committed versions in chain order (versions restart at 1 with each custodian epoch). */
  stateCommitsOf(twinId: string): StateCommitView[] {
    return (this.q.stateCommitsOf.all(twinIdArg(twinId)) as StateCommitRow[]).map((row) => ({
      twinId: row.twin_id,
      epoch: row.epoch,
      version: decodeUint(row.version),
      custodian: row.custodian,
      stateRoot: row.state_root,
      sourcesRoot: row.sources_root,
      position: pos(row),
    }));
  }

  /** The access-log roots a gateway operator anchored (`AccessLogAnchored`), by first index. */
  accessLogAnchorsOf(operator: string): AccessLogAnchorView[] {
    return (this.q.accessLogAnchorsOf.all(addressArg("operator", operator)) as AccessLogAnchorRow[]).map((row) => ({
      operator: row.operator,
      root: row.root,
      fromIndex: decodeUint(row.from_index),
      toIndex: decodeUint(row.to_index),
      position: pos(row),
    }));
  }

  emergencyAccessesOf(twinId: string, options: AtTime = {}): EmergencyAccessView[] {
    const at = atArg(options.at, () => this.now());
    return (this.q.emergencyOf.all(twinIdArg(twinId)) as EmergencyAccessRow[]).map((row) => emergencyAccess(row, at));
  }

  emergencyAccessesBy(responder: string, options: AtTime = {}): EmergencyAccessView[] {
    const at = atArg(options.at, () => this.now());
    return (this.q.emergencyBy.all(addressArg("responder", responder)) as EmergencyAccessRow[]).map((row) =>
      emergencyAccess(row, at),
    );
  }

  /** The accounts blocked on the twin now (`AccountBlocked`), in the order they were blocked. */
  blockedAccountsOf(twinId: string): BlockedAccountView[] {
    return (this.q.blockedOf.all(twinIdArg(twinId)) as BlockedRow[]).map(blocked);
  }

  /** Whether `account` is blocked on the twin (`ConsentPolicy.isBlocked`). */
  isBlocked(twinId: string, account: string): boolean {
    return this.q.blocked.get(twinIdArg(twinId), addressArg("account", account)) !== undefined;
  }

  /** The grant-signature nonces `signer` cancelled (`NonceCancelled`), by nonce. Nonces used by a relay do not show. */
  cancelledNoncesOf(signer: string): CancelledNonceView[] {
    return (this.q.noncesOf.all(addressArg("signer", signer)) as NonceRow[]).map((row) => ({
      signer: row.signer,
      nonce: decodeUint(row.nonce),
      position: pos(row),
    }));
  }

  /** Whether `signer` cancelled `nonce`. */
  isNonceCancelled(signer: string, nonce: bigint | number): boolean {
    const row = this.q.nonce.get(addressArg("signer", signer), encodeUint256(uint256Arg("nonce", nonce)));
    return row !== undefined;
  }

  /** The registry's default admin and its pending two-step changes (AccessControlDefaultAdminRules). */
  defaultAdmin(): DefaultAdminView {
    const row = this.q.defaultAdmin.get() as DefaultAdminRow | undefined;
    const admin = this.roleMembers("DEFAULT_ADMIN_ROLE")[0]?.account ?? null;
    return {
      admin,
      pendingTransfer:
        row?.pending_admin != null && row.accept_schedule != null
          ? { newAdmin: row.pending_admin, acceptSchedule: row.accept_schedule }
          : null,
      delayChange:
        row?.pending_delay != null && row.delay_schedule != null
          ? { newDelay: row.pending_delay, effectSchedule: row.delay_schedule }
          : null,
    };
  }

  roleMembers(role?: RoleName): RoleMemberView[] {
    let rows: unknown[];
    if (role === undefined) rows = this.q.roles.all();
    else {
      const hash = [...ROLE_NAMES].find(([, name]) => name === role)?.[0];
      if (hash === undefined) throw new IndexerError("INDEXER_INVALID_ARGUMENT", "unknown role name");
      rows = this.q.rolesOf.all(hash);
    }
    return (rows as RoleRow[]).map((row) => ({
      role: ROLE_NAMES.get(row.role) ?? row.role,
      account: row.account,
      since: { blockNumber: row.changed_block, timestamp: row.changed_at, by: row.changed_by },
    }));
  }

  eventsOf(twinId: string): IndexedEventView[] {
    return (this.q.eventsOf.all(twinIdArg(twinId)) as EventRow[]).map((row) => ({
      contract: row.contract,
      address: row.address,
      name: row.name,
      twinId: row.twin_id,
      position: pos(row),
    }));
  }

  eventCount(): number {
    return (this.q.eventCount.get() as { n: number }).n;
  }
}

function blocked(row: BlockedRow): BlockedAccountView {
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

function emergencyPolicy(row: EmergencyPolicyRow): EmergencyPolicyView {
  return {
    allowed: row.allowed !== 0,
    maxDuration: row.max_duration,
    categories: row.categories,
    set: { blockNumber: row.set_block, timestamp: row.set_at },
  };
}
