import type Database from "better-sqlite3";
import { id as keccakId, ZeroHash } from "ethers";
import type { SourceKind, TwinStatus } from "../vocabulary";
import {
  addressArg,
  atArg,
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
  ChainMoment,
  ChainPosition,
  Checkpoint,
  ConsentRequestFilter,
  ConsentRequestStatus,
  ConsentRequestView,
  ConsentStatus,
  ConsentView,
  DelegateView,
  EmergencyAccessStatus,
  EmergencyAccessView,
  EmergencyPolicyView,
  GrantHistoryEntry,
  GrantHistoryKind,
  IndexedEventView,
  RoleMemberView,
  RoleName,
  SourceAuthorizationView,
  StateCommitView,
  TwinDetails,
  TwinHistoryEntry,
  TwinHistoryKind,
  TwinSummary,
  UpdateView,
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
}

interface UpdateRow extends PositionRow {
  twin_id: string;
  sequence: string;
  source: string;
  category: number;
  content_hash: string;
  cid: string;
  head: string;
}

interface BatchRow extends PositionRow {
  twin_id: string;
  merkle_root: string;
  source: string;
  count: number;
  from_time: number;
  to_time: number;
}

interface AccessLogAnchorRow extends PositionRow {
  operator: string;
  root: string;
  from_index: string;
  to_index: string;
}

interface StateCommitRow extends PositionRow {
  twin_id: string;
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
const REQUEST_STATUS_VALUE: Readonly<Record<ConsentRequestStatus, number>> = {
  pending: 1,
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

function request(row: RequestRow): ConsentRequestView {
  return {
    requestId: decodeUint(row.request_id),
    twinId: row.twin_id,
    requester: row.requester,
    categories: row.categories,
    purposes: row.purposes,
    duration: row.duration,
    reasonHash: row.reason_hash,
    status: REQUEST_STATUS[row.status] ?? "pending",
    requested: pos(row),
    closed: moment(row.closed_block, row.closed_at, row.closed_by),
  };
}

function emergencyAccess(row: EmergencyAccessRow, at: number): EmergencyAccessView {
  let status: EmergencyAccessStatus;
  if (row.end_reason === "closed") status = "closed";
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
    ended: moment(row.ended_block, row.ended_at, row.ended_by),
  };
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
      consentsOf: db.prepare("SELECT * FROM consents WHERE twin_id = ? ORDER BY granted_block, grantee"),
      consentsTo: db.prepare("SELECT * FROM consents WHERE grantee = ? ORDER BY granted_block, twin_id"),
      grantHistory: db.prepare("SELECT * FROM consent_history WHERE twin_id = ? ORDER BY block_number, log_index"),
      grantHistoryOf: db.prepare(
        "SELECT * FROM consent_history WHERE twin_id = ? AND grantee = ? ORDER BY block_number, log_index",
      ),
      request: db.prepare("SELECT * FROM consent_requests WHERE request_id = ?"),
      requestsOf: db.prepare("SELECT * FROM consent_requests WHERE twin_id = ? ORDER BY block_number, log_index"),
      requestsOfStatus: db.prepare(
        "SELECT * FROM consent_requests WHERE twin_id = ? AND status = ? ORDER BY block_number, log_index",
      ),
      requestsOfClosed: db.prepare(
        "SELECT * FROM consent_requests WHERE twin_id = ? AND status <> 1 ORDER BY block_number, log_index",
      ),
      requestsBy: db.prepare("SELECT * FROM consent_requests WHERE requester = ? ORDER BY block_number, log_index"),
      updatesOf: db.prepare("SELECT * FROM updates WHERE twin_id = ? AND sequence >= ? ORDER BY sequence LIMIT ?"),
      updateCount: db.prepare("SELECT COUNT(*) AS n FROM updates WHERE twin_id = ?"),
      batchesOf: db.prepare("SELECT * FROM batches WHERE twin_id = ? ORDER BY block_number, log_index"),
      stateCommitsOf: db.prepare("SELECT * FROM state_commits WHERE twin_id = ? ORDER BY version"),
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

  request(requestId: bigint | number): ConsentRequestView | null {
    const row = this.q.request.get(encodeUint256(uint256Arg("requestId", requestId))) as RequestRow | undefined;
    return row ? request(row) : null;
  }

  requestsOf(twinId: string, status?: ConsentRequestFilter): ConsentRequestView[] {
    const id = twinIdArg(twinId);
    let rows: unknown[];
    if (status === undefined) rows = this.q.requestsOf.all(id);
    else if (status === "closed") rows = this.q.requestsOfClosed.all(id);
    else {
      const value = REQUEST_STATUS_VALUE[status];
      if (value === undefined) {
        throw new IndexerError(
          "INDEXER_INVALID_ARGUMENT",
          "status must be pending, granted, denied, withdrawn or closed",
        );
      }
      rows = this.q.requestsOfStatus.all(id, value);
    }
    return (rows as RequestRow[]).map(request);
  }

  requestsBy(requester: string): ConsentRequestView[] {
    return (this.q.requestsBy.all(addressArg("requester", requester)) as RequestRow[]).map(request);
  }

  updatesOf(twinId: string, query: UpdatesQuery = {}): UpdateView[] {
    const id = twinIdArg(twinId);
    const from = uint64Arg("fromSequence", query.fromSequence ?? 1n);
    const limit = intArg("limit", query.limit, 100, 1, MAX_LIMIT);
    return (this.q.updatesOf.all(id, encodeUint64(from), limit) as UpdateRow[]).map((row) => ({
      twinId: row.twin_id,
      sequence: decodeUint(row.sequence),
      source: row.source,
      category: row.category,
      contentHash: row.content_hash,
      cid: row.cid,
      head: row.head,
      position: pos(row),
    }));
  }

  updateCount(twinId: string): number {
    return (this.q.updateCount.get(twinIdArg(twinId)) as { n: number }).n;
  }

  batchesOf(twinId: string): BatchView[] {
    return (this.q.batchesOf.all(twinIdArg(twinId)) as BatchRow[]).map((row) => ({
      twinId: row.twin_id,
      merkleRoot: row.merkle_root,
      source: row.source,
      count: row.count,
      from: row.from_time,
      to: row.to_time,
      position: pos(row),
    }));
  }

  stateCommitsOf(twinId: string): StateCommitView[] {
    return (this.q.stateCommitsOf.all(twinIdArg(twinId)) as StateCommitRow[]).map((row) => ({
      twinId: row.twin_id,
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

function emergencyPolicy(row: EmergencyPolicyRow): EmergencyPolicyView {
  return {
    allowed: row.allowed !== 0,
    maxDuration: row.max_duration,
    categories: row.categories,
    set: { blockNumber: row.set_block, timestamp: row.set_at },
  };
}
