import { verifyUpdateChain, type LogHeadLike, type UpdateChainVerification } from "../chain/anchors";
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
import {
  batch,
  blocked,
  consent,
  delegate,
  emergencyAccess,
  emergencyPolicy,
  grantHistoryEntry,
  historyEntry,
  logEntry,
  MAX_LIMIT,
  OWNERSHIP_KINDS,
  pos,
  recordBatch,
  request,
  REQUEST_STATUS_VALUE,
  ROLE_NAMES,
  source,
  twinSummary,
  type AccessLogAnchorRow,
  type BatchRow,
  type BlockedRow,
  type CheckpointRow,
  type ConsentHistoryRow,
  type ConsentRow,
  type DelegateRow,
  type EmergencyAccessRow,
  type EmergencyPolicyRow,
  type EventRow,
  type HistoryRow,
  type LogEntryRow,
  type NonceRow,
  type RecordBatchRow,
  type RequestRow,
  type RoleRow,
  type SourceRow,
  type StateCommitRow,
  type TwinRow,
  type DefaultAdminRow,
} from "./rows";
import { Q } from "./query-statements";
import type { IndexerStore, SqlParams, SqlRunner, StoreDialect } from "./store/store";
import type {
  AccessLogAnchorView,
  AtTime,
  BatchView,
  BlockedAccountView,
  CancelledNonceView,
  Checkpoint,
  ConsentRequestFilter,
  ConsentRequestView,
  ConsentView,
  DefaultAdminView,
  DelegateView,
  EmergencyAccessView,
  GrantHistoryEntry,
  IndexedEventView,
  LogEntryView,
  RecordBatchView,
  RoleMemberView,
  RoleName,
  SourceAuthorizationView,
  StateCommitView,
  TwinDetails,
  TwinHistoryEntry,
  TwinSummary,
  UpdatesQuery,
} from "./types";

/** The read side over the indexer's tables. Arguments are validated and normalized; see types.ts for the shapes. */
export class IndexerQueries {
  constructor(protected readonly store: IndexerStore) {}

  /**
   * Runs `fn` on the store, for extensions' own queries (see `IndexerExtension`). Use it to read; writes outside
   * the sync's transactions would bypass the checkpoint.
   */
  read<T>(fn: (db: SqlRunner) => Promise<T>): Promise<T> {
    return fn(this.store);
  }

  /** Which backend holds the index. */
  get dialect(): StoreDialect {
    return this.store.dialect;
  }

  /**
   * The default time of status queries: the wall clock, or the last indexed block's timestamp if that is later
   * (a chain whose clock runs ahead, as a test network's can). Never earlier than the indexed chain.
   */
  async now(): Promise<number> {
    const wall = Math.floor(Date.now() / 1000);
    return Math.max(wall, (await this.checkpoint()).blockTimestamp ?? 0);
  }

  /** The last block fully indexed. */
  async checkpoint(): Promise<Checkpoint> {
    const row = (await this.get(Q.checkpoint)) as CheckpointRow | undefined;
    if (!row) throw new IndexerError("INDEXER_SCHEMA", "the checkpoint row is missing");
    return { blockNumber: row.block_number, blockHash: row.block_hash, blockTimestamp: row.block_timestamp };
  }

  async twin(twinId: string): Promise<TwinDetails | null> {
    const id = twinIdArg(twinId);
    const row = (await this.get(Q.twin, id)) as TwinRow | undefined;
    if (!row) return null;
    const policy = (await this.get(Q.emergencyPolicy, id)) as EmergencyPolicyRow | undefined;
    return {
      ...twinSummary(row),
      sources: ((await this.all(Q.activeSourcesOf, id)) as SourceRow[]).map(source),
      delegates: ((await this.all(Q.delegatesOf, id)) as DelegateRow[]).map(delegate),
      emergencyPolicy: policy ? emergencyPolicy(policy) : null,
    };
  }

  async twinsOf(owner: string): Promise<TwinSummary[]> {
    return ((await this.all(Q.twinsOf, addressArg("owner", owner))) as TwinRow[]).map(twinSummary);
  }

  async twinsInCustody(custodian: string): Promise<TwinSummary[]> {
    return ((await this.all(Q.twinsInCustody, addressArg("custodian", custodian))) as TwinRow[]).map(twinSummary);
  }

  async sourcesOf(twinId: string, options: { includeRemoved?: boolean } = {}): Promise<SourceAuthorizationView[]> {
    const id = twinIdArg(twinId);
    const rows = options.includeRemoved ? await this.all(Q.sourcesOf, id) : await this.all(Q.activeSourcesOf, id);
    return (rows as SourceRow[]).map(source);
  }

  async twinsOfSource(sourceAddress: string): Promise<SourceAuthorizationView[]> {
    return ((await this.all(Q.bySource, addressArg("source", sourceAddress))) as SourceRow[]).map(source);
  }

  async delegatesOf(twinId: string): Promise<DelegateView[]> {
    return ((await this.all(Q.delegatesOf, twinIdArg(twinId))) as DelegateRow[]).map(delegate);
  }

  async twinsDelegatedTo(delegateAddress: string): Promise<DelegateView[]> {
    return ((await this.all(Q.byDelegate, addressArg("delegate", delegateAddress))) as DelegateRow[]).map(delegate);
  }

  async historyOf(twinId: string): Promise<TwinHistoryEntry[]> {
    return ((await this.all(Q.history, twinIdArg(twinId))) as HistoryRow[]).map(historyEntry);
  }

  async ownershipHistory(twinId: string): Promise<TwinHistoryEntry[]> {
    return (await this.historyOf(twinId)).filter((entry) => OWNERSHIP_KINDS.includes(entry.kind));
  }

  async consentsOf(twinId: string, options: AtTime = {}): Promise<ConsentView[]> {
    const at = await this.atTime(options);
    return ((await this.all(Q.consentsOf, twinIdArg(twinId))) as ConsentRow[]).map((row) => consent(row, at));
  }

  async grantsTo(grantee: string, options: AtTime = {}): Promise<ConsentView[]> {
    const at = await this.atTime(options);
    return ((await this.all(Q.consentsTo, addressArg("grantee", grantee))) as ConsentRow[]).map((row) =>
      consent(row, at),
    );
  }

  async grantHistory(twinId: string, grantee?: string): Promise<GrantHistoryEntry[]> {
    const id = twinIdArg(twinId);
    const rows =
      grantee === undefined
        ? await this.all(Q.grantHistory, id)
        : await this.all(Q.grantHistoryOf, id, addressArg("grantee", grantee));
    return (rows as ConsentHistoryRow[]).map(grantHistoryEntry);
  }

  /**
   * The pair's grant epoch (`ConsentPolicy.grantEpochOf`), counted from its `ConsentGranted`, `ConsentUpdated` and
   * `ConsentRevoked` events (a revoke with no live grant too); 0 for a pair never touched.
   */
  async grantEpochOf(twinId: string, grantee: string): Promise<number> {
    const row = (await this.get(Q.grantEpoch, twinIdArg(twinId), addressArg("grantee", grantee))) as
      { epoch: number } | undefined;
    return row?.epoch ?? 0;
  }

  /** A request by id, with its status at `at` (`expired` once a pending request's `expiresAt` has passed). */
  async request(requestId: bigint | number, options: AtTime = {}): Promise<ConsentRequestView | null> {
    const at = await this.atTime(options);
    const row = (await this.get(Q.request, encodeUint256(uint256Arg("requestId", requestId)))) as
      RequestRow | undefined;
    return row ? request(row, at) : null;
  }

  /**
   * The twin's requests, in order, all or of one status at `at`: `pending` (open: pending and unexpired),
   * `expired` (pending on chain, past `expiresAt`), `granted`, `denied`, `withdrawn`, or `closed` (the last three).
   */
  async requestsOf(twinId: string, status?: ConsentRequestFilter, options: AtTime = {}): Promise<ConsentRequestView[]> {
    const id = twinIdArg(twinId);
    const at = await this.atTime(options);
    let rows: unknown[];
    if (status === undefined) rows = await this.all(Q.requestsOf, id);
    else if (status === "closed") rows = await this.all(Q.requestsOfClosed, id);
    else if (status === "pending") rows = await this.all(Q.requestsPending, { twin_id: id, at });
    else if (status === "expired") rows = await this.all(Q.requestsExpired, { twin_id: id, at });
    else {
      const value = REQUEST_STATUS_VALUE[status];
      if (value === undefined) {
        throw new IndexerError(
          "INDEXER_INVALID_ARGUMENT",
          "status must be pending, expired, granted, denied, withdrawn or closed",
        );
      }
      rows = await this.all(Q.requestsOfStatus, id, value);
    }
    return (rows as RequestRow[]).map((row) => request(row, at));
  }

  async requestsBy(requester: string, options: AtTime = {}): Promise<ConsentRequestView[]> {
    const at = await this.atTime(options);
    return ((await this.all(Q.requestsBy, addressArg("requester", requester))) as RequestRow[]).map((row) =>
      request(row, at),
    );
  }

  /**
   * The twin's hash chain from `fromSequence` on, in sequence order: updates (`UpdateRecorded`, kind `update`) and
   * record batches (`RecordsAnchored`, kind `records`), which share one sequence.
   */
  async updatesOf(twinId: string, query: UpdatesQuery = {}): Promise<LogEntryView[]> {
    const id = twinIdArg(twinId);
    const from = uint64Arg("fromSequence", query.fromSequence ?? 1n);
    const limit = intArg("limit", query.limit, 100, 1, MAX_LIMIT);
    return ((await this.all(Q.updatesOf, { twin_id: id, from: encodeUint64(from), limit })) as LogEntryRow[]).map(
      logEntry,
    );
  }

  /** Number of entries of the twin's hash chain indexed (updates and record batches): its sequence. */
  async updateCount(twinId: string): Promise<number> {
    return ((await this.get(Q.updateCount, { twin_id: twinIdArg(twinId) })) as { n: number }).n;
  }

  /**
   * Rebuilds the twin's whole hash chain from the indexed entries with `verifyUpdateChain` (src/chain/anchors.ts)
   * and checks it against `expectedHead` (the on-chain `logHeadOf(twinId)`), or, without one, only that the
   * entries hash to one another (the last indexed head is then the expected one).
   */
  async verifyLogChain(twinId: string, expectedHead?: LogHeadLike): Promise<UpdateChainVerification> {
    const id = twinIdArg(twinId);
    const entries: LogEntryView[] = [];
    for (let from = 1n; ;) {
      const page = await this.updatesOf(id, { fromSequence: from, limit: MAX_LIMIT });
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
  async recordBatchesOf(twinId: string): Promise<RecordBatchView[]> {
    return ((await this.all(Q.recordBatchesOf, twinIdArg(twinId))) as RecordBatchRow[]).map(recordBatch);
  }

  /** The record batch a source anchored under this root (as `recordBatchOf` keys it), or null. */
  async recordBatch(twinId: string, sourceAddress: string, recordsRoot: string): Promise<RecordBatchView | null> {
    const row = (await this.get(
      Q.recordBatch,
      twinIdArg(twinId),
      addressArg("source", sourceAddress),
      bytes32Arg("recordsRoot", recordsRoot),
    )) as RecordBatchRow | undefined;
    return row ? recordBatch(row) : null;
  }

  /** The twin's reading batches (`BatchAnchored`), in chain order. */
  async batchesOf(twinId: string): Promise<BatchView[]> {
    return ((await this.all(Q.batchesOf, twinIdArg(twinId))) as BatchRow[]).map(batch);
  }

  /** The reading batch a source anchored under this root (as `batchOf` keys it), or null. */
  async batch(twinId: string, sourceAddress: string, merkleRoot: string): Promise<BatchView | null> {
    const row = (await this.get(
      Q.batch,
      twinIdArg(twinId),
      addressArg("source", sourceAddress),
      bytes32Arg("merkleRoot", merkleRoot),
    )) as BatchRow | undefined;
    return row ? batch(row) : null;
  }

  /** The twin's committed versions in chain order (versions restart at 1 with each custodian epoch). */
  async stateCommitsOf(twinId: string): Promise<StateCommitView[]> {
    return ((await this.all(Q.stateCommitsOf, twinIdArg(twinId))) as StateCommitRow[]).map((row) => ({
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
  async accessLogAnchorsOf(operator: string): Promise<AccessLogAnchorView[]> {
    return ((await this.all(Q.accessLogAnchorsOf, addressArg("operator", operator))) as AccessLogAnchorRow[]).map(
      (row) => ({
        operator: row.operator,
        root: row.root,
        fromIndex: decodeUint(row.from_index),
        toIndex: decodeUint(row.to_index),
        position: pos(row),
      }),
    );
  }

  async emergencyAccessesOf(twinId: string, options: AtTime = {}): Promise<EmergencyAccessView[]> {
    const at = await this.atTime(options);
    return ((await this.all(Q.emergencyOf, twinIdArg(twinId))) as EmergencyAccessRow[]).map((row) =>
      emergencyAccess(row, at),
    );
  }

  async emergencyAccessesBy(responder: string, options: AtTime = {}): Promise<EmergencyAccessView[]> {
    const at = await this.atTime(options);
    return ((await this.all(Q.emergencyBy, addressArg("responder", responder))) as EmergencyAccessRow[]).map((row) =>
      emergencyAccess(row, at),
    );
  }

  /** The accounts blocked on the twin now (`AccountBlocked`), in the order they were blocked. */
  async blockedAccountsOf(twinId: string): Promise<BlockedAccountView[]> {
    return ((await this.all(Q.blockedOf, twinIdArg(twinId))) as BlockedRow[]).map(blocked);
  }

  /** Whether `account` is blocked on the twin (`ConsentPolicy.isBlocked`). */
  async isBlocked(twinId: string, account: string): Promise<boolean> {
    return (await this.get(Q.blocked, twinIdArg(twinId), addressArg("account", account))) !== undefined;
  }

  /** The grant-signature nonces `signer` cancelled (`NonceCancelled`), by nonce. Nonces used by a relay do not show. */
  async cancelledNoncesOf(signer: string): Promise<CancelledNonceView[]> {
    return ((await this.all(Q.noncesOf, addressArg("signer", signer))) as NonceRow[]).map((row) => ({
      signer: row.signer,
      nonce: decodeUint(row.nonce),
      position: pos(row),
    }));
  }

  /** Whether `signer` cancelled `nonce`. */
  async isNonceCancelled(signer: string, nonce: bigint | number): Promise<boolean> {
    const row = await this.get(Q.nonce, addressArg("signer", signer), encodeUint256(uint256Arg("nonce", nonce)));
    return row !== undefined;
  }

  /** The registry's default admin and its pending two-step changes (AccessControlDefaultAdminRules). */
  async defaultAdmin(): Promise<DefaultAdminView> {
    const row = (await this.get(Q.defaultAdmin)) as DefaultAdminRow | undefined;
    const admin = (await this.roleMembers("DEFAULT_ADMIN_ROLE"))[0]?.account ?? null;
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

  async roleMembers(role?: RoleName): Promise<RoleMemberView[]> {
    let rows: unknown[];
    if (role === undefined) rows = await this.all(Q.roles);
    else {
      const hash = [...ROLE_NAMES].find(([, name]) => name === role)?.[0];
      if (hash === undefined) throw new IndexerError("INDEXER_INVALID_ARGUMENT", "unknown role name");
      rows = await this.all(Q.rolesOf, hash);
    }
    return (rows as RoleRow[]).map((row) => ({
      role: ROLE_NAMES.get(row.role) ?? row.role,
      account: row.account,
      since: { blockNumber: row.changed_block, timestamp: row.changed_at, by: row.changed_by },
    }));
  }

  async eventsOf(twinId: string): Promise<IndexedEventView[]> {
    return ((await this.all(Q.eventsOf, twinIdArg(twinId))) as EventRow[]).map((row) => ({
      contract: row.contract,
      address: row.address,
      name: row.name,
      twinId: row.twin_id,
      position: pos(row),
    }));
  }

  async eventCount(): Promise<number> {
    return ((await this.get(Q.eventCount)) as { n: number }).n;
  }

  /** The time of a status query: `options.at`, or `now()`. */
  private async atTime(options: AtTime): Promise<number> {
    return options.at === undefined ? this.now() : atArg(options.at, () => 0);
  }

  private all(sql: string, ...params: unknown[]): Promise<unknown[]> {
    return this.store.all(sql, bind(params));
  }

  private get(sql: string, ...params: unknown[]): Promise<unknown> {
    return this.store.get(sql, bind(params));
  }
}

/** Positional parameters, or one object of named ones. */
function bind(params: unknown[]): SqlParams {
  const [first] = params;
  if (params.length === 1 && typeof first === "object" && first !== null) return first as Record<string, unknown>;
  return params;
}
