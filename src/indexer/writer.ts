import type Database from "better-sqlite3";
import { ZeroAddress, ZeroHash } from "ethers";
import type { TypedContractEvent } from "../../typechain-types/common";
import type { TwinRegistry } from "../../typechain-types/contracts/TwinRegistry";
import type { IConsentPolicy } from "../../typechain-types/contracts/interfaces/IConsentPolicy";
import type { ITwinUpdateLog } from "../../typechain-types/contracts/interfaces/ITwinUpdateLog";
import { TwinStatus } from "../vocabulary";
import { encodeUint256, encodeUint64, smallUint } from "./codec";
import { EMERGENCY_COOLDOWN_SECONDS, REQUEST_LIFETIME_SECONDS } from "./constants";
import type { ChainPosition, TwinHistoryKind } from "./types";

/** The core contracts the indexer follows. */
export type CoreContract = "registry" | "consent" | "updateLog";

/** The event names of a typechain contract type (its `filters` keys without the full signatures). */
type EventNames<C extends { filters: object }> = Exclude<Extract<keyof C["filters"], string>, `${string}(${string}`>;

/** The decoded arguments of an event, as typechain types them (`Result.toObject()` of the same ABI). */
type EventArgs<C extends { filters: object }, E extends keyof C["filters"]> =
  C["filters"][E] extends TypedContractEvent<infer _I, infer _O, infer Obj> ? Obj : never;

/** Handlers of some of a contract's events; the names and argument types are checked against the bindings. */
type EventHandlers<C extends { filters: object }> = {
  readonly [E in EventNames<C>]?: (args: EventArgs<C, E>, at: ChainPosition) => void;
};

/** A handler after type erasure; the dispatcher passes `Result.toObject()` of the log the name was decoded from. */
export type RawHandler = (args: Record<string, unknown>, at: ChainPosition) => void;

function erase<C extends { filters: object }>(handlers: EventHandlers<C>): ReadonlyMap<string, RawHandler> {
  const map = new Map<string, RawHandler>();
  for (const [name, handler] of Object.entries(handlers)) {
    // The arguments were decoded with the same ABI that typechain typed them from.
    map.set(name, handler as RawHandler);
  }
  return map;
}

const hex = (value: string): string => value.toLowerCase();

/**
 * Applies decoded core events to the tables (see schema.ts). Every method runs inside the range's transaction;
 * a log reaches here only once, because the dispatcher first inserts it into `events` keyed by its position.
 * The history tables are keyed by the same position as a second guard (`ON CONFLICT ... DO NOTHING`).
 */
export class CoreWriter {
  readonly handlers: Readonly<Record<CoreContract, ReadonlyMap<string, RawHandler>>>;

  constructor(db: Database.Database) {
    const s = statements(db);

    const history = (twinId: string, kind: TwinHistoryKind, at: ChainPosition, p: HistoryParts): void => {
      s.history.run({
        ...position(at),
        twin_id: hex(twinId),
        kind,
        previous: p.previous ?? null,
        next: p.next ?? null,
        actor: p.actor ?? null,
      });
    };
    const touch = (twinId: string, at: ChainPosition): { twin_id: string; block: number; at: number } => ({
      twin_id: hex(twinId),
      block: at.blockNumber,
      at: at.timestamp,
    });
    const setStatus = (twinId: string, status: TwinStatus, at: ChainPosition): void => {
      s.twinStatus.run({ ...touch(twinId, at), status });
    };
    const bumpEpoch = (twinId: string, grantee: string, at: ChainPosition): void => {
      s.epochBump.run({ twin_id: hex(twinId), grantee, block: at.blockNumber, at: at.timestamp });
    };

    const registry = erase<TwinRegistry>({
      TwinCreated: (e, at) => {
        s.twinCreate.run({
          twin_id: hex(e.twinId),
          owner: e.owner,
          custodian: e.custodian,
          status: TwinStatus.Active,
          metadata: hex(e.metadataCommitment),
          block: at.blockNumber,
          log_index: at.logIndex,
          at: at.timestamp,
          tx: at.transactionHash,
        });
        history(e.twinId, "created", at, { next: e.owner, actor: e.owner });
      },
      TwinMetadataUpdated: (e, at) => {
        s.twinMetadata.run({ ...touch(e.twinId, at), metadata: hex(e.metadataCommitment) });
        history(e.twinId, "metadata-updated", at, { next: hex(e.metadataCommitment) });
      },
      CustodianChanged: (e, at) => {
        s.twinCustodian.run({ ...touch(e.twinId, at), custodian: e.newCustodian });
        history(e.twinId, "custodian-changed", at, { previous: e.previousCustodian, next: e.newCustodian });
      },
      SourceAuthorized: (e, at) => {
        s.sourceAuthorize.run({
          twin_id: hex(e.twinId),
          source: e.source,
          kind: smallUint(e.kind),
          categories: smallUint(e.categories),
          block: at.blockNumber,
          log_index: at.logIndex,
          at: at.timestamp,
          tx: at.transactionHash,
        });
      },
      SourceRemoved: (e, at) => {
        s.sourceRemove.run({ twin_id: hex(e.twinId), source: e.source, block: at.blockNumber, at: at.timestamp });
      },
      DelegateAppointed: (e, at) => {
        s.delegateAppoint.run({
          twin_id: hex(e.twinId),
          delegate: e.delegate,
          block: at.blockNumber,
          log_index: at.logIndex,
          at: at.timestamp,
          tx: at.transactionHash,
        });
      },
      DelegateRemoved: (e, at) => {
        s.delegateRemove.run({
          twin_id: hex(e.twinId),
          delegate: e.delegate,
          block: at.blockNumber,
          at: at.timestamp,
          by: e.removedBy,
        });
      },
      DelegatesCleared: (e, at) => {
        // acceptOwnership ends every delegate of the twin (the registry's delegate epoch): none is listed any more.
        s.delegatesClear.run({ twin_id: hex(e.twinId), block: at.blockNumber, at: at.timestamp });
        history(e.twinId, "delegates-cleared", at, {});
      },
      OwnershipTransferStarted: (e, at) => {
        const cancelled = e.newOwner === ZeroAddress;
        s.twinPendingOwner.run({ ...touch(e.twinId, at), pending: cancelled ? null : e.newOwner });
        history(e.twinId, cancelled ? "ownership-transfer-cancelled" : "ownership-transfer-started", at, {
          previous: e.previousOwner,
          next: cancelled ? null : e.newOwner,
        });
      },
      OwnershipTransferred: (e, at) => {
        s.twinOwner.run({ ...touch(e.twinId, at), owner: e.newOwner });
        history(e.twinId, "ownership-transferred", at, {
          previous: e.previousOwner,
          next: e.newOwner,
          actor: e.newOwner,
        });
      },
      TwinSuspended: (e, at) => {
        setStatus(e.twinId, TwinStatus.Suspended, at);
        history(e.twinId, "suspended", at, { actor: e.by });
      },
      TwinResumed: (e, at) => {
        setStatus(e.twinId, TwinStatus.Active, at);
        history(e.twinId, "resumed", at, { actor: e.by });
      },
      TwinErased: (e, at) => {
        setStatus(e.twinId, TwinStatus.Erased, at);
        s.twinPendingOwner.run({ ...touch(e.twinId, at), pending: null });
        history(e.twinId, "erased", at, { actor: e.by });
      },
      RoleGranted: (e, at) => {
        if (hex(e.role) === ZeroHash) s.adminTransferClear.run({ block: at.blockNumber, at: at.timestamp });
        s.role.run({
          role: hex(e.role),
          account: e.account,
          active: 1,
          block: at.blockNumber,
          at: at.timestamp,
          by: e.sender,
        });
      },
      RoleRevoked: (e, at) => {
        // Accepting a default-admin transfer (revoke, then grant) or renouncing the role ends the pending transfer.
        if (hex(e.role) === ZeroHash) s.adminTransferClear.run({ block: at.blockNumber, at: at.timestamp });
        s.role.run({
          role: hex(e.role),
          account: e.account,
          active: 0,
          block: at.blockNumber,
          at: at.timestamp,
          by: e.sender,
        });
      },
      DefaultAdminTransferScheduled: (e, at) => {
        s.adminTransfer.run({
          pending: e.newAdmin,
          schedule: smallUint(e.acceptSchedule),
          block: at.blockNumber,
          at: at.timestamp,
        });
      },
      DefaultAdminTransferCanceled: (_e, at) => {
        s.adminTransferClear.run({ block: at.blockNumber, at: at.timestamp });
      },
      DefaultAdminDelayChangeScheduled: (e, at) => {
        s.adminDelay.run({
          delay: smallUint(e.newDelay),
          schedule: smallUint(e.effectSchedule),
          block: at.blockNumber,
          at: at.timestamp,
        });
      },
      DefaultAdminDelayChangeCanceled: (_e, at) => {
        s.adminDelay.run({ delay: null, schedule: null, block: at.blockNumber, at: at.timestamp });
      },
    });

    const consent = erase<IConsentPolicy>({
      ConsentGranted: (e, at) => {
        const terms = grantTerms(e);
        bumpEpoch(e.twinId, e.grantee, at);
        s.consentGrant.run({
          twin_id: hex(e.twinId),
          grantee: e.grantee,
          grantor: e.grantor,
          ...terms,
          block: at.blockNumber,
          at: at.timestamp,
        });
        s.consentHistory.run({
          ...position(at),
          twin_id: hex(e.twinId),
          grantee: e.grantee,
          kind: "granted",
          actor: e.grantor,
          ...terms,
        });
      },
      ConsentUpdated: (e, at) => {
        const terms = grantTerms(e);
        bumpEpoch(e.twinId, e.grantee, at);
        s.consentUpdate.run({
          twin_id: hex(e.twinId),
          grantee: e.grantee,
          by: e.grantor,
          ...terms,
          block: at.blockNumber,
          at: at.timestamp,
        });
        s.consentHistory.run({
          ...position(at),
          twin_id: hex(e.twinId),
          grantee: e.grantee,
          kind: "updated",
          actor: e.grantor,
          ...terms,
        });
      },
      ConsentRevoked: (e, at) => {
        bumpEpoch(e.twinId, e.grantee, at);
        // v2: a revoke with no live grant (none, or revoked already) only bumps the epoch, voiding the pair's
        // unrelayed signatures: it must neither invent a grant nor move an earlier revocation.
        const revoked = s.consentRevoke.run({
          twin_id: hex(e.twinId),
          grantee: e.grantee,
          by: e.revokedBy,
          block: at.blockNumber,
          at: at.timestamp,
        });
        s.consentHistory.run({
          ...position(at),
          twin_id: hex(e.twinId),
          grantee: e.grantee,
          kind: revoked.changes > 0 ? "revoked" : "voided",
          actor: e.revokedBy,
          categories: null,
          actions: null,
          purposes: null,
          valid_from: null,
          valid_until: null,
        });
      },
      ConsentRequested: (e, at) => {
        s.requestOpen.run({
          ...position(at),
          request_id: encodeUint256(e.requestId),
          twin_id: hex(e.twinId),
          requester: e.requester,
          categories: smallUint(e.categories),
          purposes: smallUint(e.purposes),
          duration: smallUint(e.duration),
          reason_hash: hex(e.reasonHash),
          status: REQUEST_PENDING,
          // ConsentRequest.expiresAt, which the event does not carry: the block's time + REQUEST_LIFETIME.
          expires_at: at.timestamp + REQUEST_LIFETIME_SECONDS,
        });
      },
      ConsentRequestClosed: (e, at) => {
        s.requestClose.run({
          request_id: encodeUint256(e.requestId),
          status: smallUint(e.status),
          block: at.blockNumber,
          at: at.timestamp,
          by: e.closedBy,
        });
      },
      EmergencyPolicySet: (e, at) => {
        s.emergencyPolicy.run({
          twin_id: hex(e.twinId),
          allowed: e.allowed ? 1 : 0,
          max_duration: smallUint(e.maxDuration),
          categories: smallUint(e.categories),
          block: at.blockNumber,
          at: at.timestamp,
        });
      },
      EmergencyAccessOpened: (e, at) => {
        // Re-opening while open keeps the first opening (the contract caps the end from it; the event's `until` is
        // the capped end); otherwise the access starts afresh.
        const open = s.emergencyOpenOf.get({
          twin_id: hex(e.twinId),
          responder: e.responder,
          at: at.timestamp,
        }) as { first_opened_at: number } | undefined;
        s.emergencyReplace.run({
          twin_id: hex(e.twinId),
          responder: e.responder,
          block: at.blockNumber,
          at: at.timestamp,
        });
        s.emergencyOpen.run({
          first_opened_at: open?.first_opened_at ?? at.timestamp,
          ...position(at),
          twin_id: hex(e.twinId),
          responder: e.responder,
          until: smallUint(e.until),
          categories: smallUint(e.categories),
          reason_hash: hex(e.reasonHash),
        });
      },
      EmergencyAccessClosed: (e, at) => {
        // setBlocked emits AccountBlocked, then this in the same transaction: a close by blocking, no cooldown.
        // A close by someone else than the responder (a controller) starts the responder's cooldown.
        const block = s.blockedIn.get({
          twin_id: hex(e.twinId),
          account: e.responder,
          tx: at.transactionHash,
        }) as { blocked: number } | undefined;
        const byBlocking = block?.blocked === 1;
        const cooldown = !byBlocking && e.closedBy !== e.responder;
        s.emergencyClose.run({
          twin_id: hex(e.twinId),
          responder: e.responder,
          block: at.blockNumber,
          at: at.timestamp,
          by: e.closedBy,
          reason: byBlocking ? "blocked" : "closed",
          cooldown_until: cooldown ? at.timestamp + EMERGENCY_COOLDOWN_SECONDS : null,
        });
      },
      AccountBlocked: (e, at) => {
        s.blocked.run({
          twin_id: hex(e.twinId),
          account: e.account,
          blocked: e.blocked ? 1 : 0,
          block: at.blockNumber,
          log_index: at.logIndex,
          at: at.timestamp,
          tx: at.transactionHash,
        });
      },
      NonceCancelled: (e, at) => {
        s.nonceCancel.run({ ...position(at), signer: e.signer, nonce: encodeUint256(e.nonce) });
      },
    });

    const updateLog = erase<ITwinUpdateLog>({
      UpdateRecorded: (e, at) => {
        s.update.run({
          ...position(at),
          twin_id: hex(e.twinId),
          sequence: encodeUint64(e.sequence),
          source: e.source,
          category: smallUint(e.category),
          content_hash: hex(e.contentHash),
          cid: hex(e.cid),
          head: hex(e.head),
        });
      },
      RecordsAnchored: (e, at) => {
        s.recordBatch.run({
          ...position(at),
          twin_id: hex(e.twinId),
          sequence: encodeUint64(e.sequence),
          source: e.source,
          categories: smallUint(e.categories),
          records_root: hex(e.recordsRoot),
          head: hex(e.head),
        });
      },
      BatchAnchored: (e, at) => {
        s.batch.run({
          ...position(at),
          twin_id: hex(e.twinId),
          source: e.source,
          merkle_root: hex(e.merkleRoot),
        });
      },
      TwinStateCommitted: (e, at) => {
        s.stateCommit.run({
          ...position(at),
          twin_id: hex(e.twinId),
          epoch: smallUint(e.epoch),
          version: encodeUint64(e.version),
          custodian: e.custodian,
          state_root: hex(e.stateRoot),
          sources_root: hex(e.sourcesRoot),
        });
      },
      AccessLogAnchored: (e, at) => {
        s.accessLogAnchor.run({
          ...position(at),
          operator: e.operator,
          root: hex(e.root),
          from_index: encodeUint64(e.fromIndex),
          to_index: encodeUint64(e.toIndex),
        });
      },
    });

    this.handlers = { registry, consent, updateLog };
  }
}

/** `IConsentPolicy.RequestStatus.Pending`. */
export const REQUEST_PENDING = 1;

interface HistoryParts {
  readonly previous?: string | null;
  readonly next?: string | null;
  readonly actor?: string | null;
}

interface Terms {
  readonly categories: bigint;
  readonly actions: bigint;
  readonly purposes: bigint;
  readonly validFrom: bigint;
  readonly validUntil: bigint;
}

function grantTerms(e: Terms) {
  return {
    categories: smallUint(e.categories),
    actions: smallUint(e.actions),
    purposes: smallUint(e.purposes),
    valid_from: smallUint(e.validFrom),
    valid_until: smallUint(e.validUntil),
  };
}

function position(at: ChainPosition) {
  return {
    block_number: at.blockNumber,
    log_index: at.logIndex,
    block_timestamp: at.timestamp,
    tx_hash: at.transactionHash,
  };
}

function statements(db: Database.Database) {
  return {
    twinCreate: db.prepare(`
      INSERT INTO twins (twin_id, owner, custodian, status, metadata_commitment, pending_owner,
                         created_block, created_log_index, created_at, created_tx, updated_block, updated_at)
      VALUES (@twin_id, @owner, @custodian, @status, @metadata, NULL, @block, @log_index, @at, @tx, @block, @at)`),
    twinMetadata: db.prepare(
      `UPDATE twins SET metadata_commitment = @metadata, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
    ),
    twinCustodian: db.prepare(
      `UPDATE twins SET custodian = @custodian, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
    ),
    twinPendingOwner: db.prepare(
      `UPDATE twins SET pending_owner = @pending, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
    ),
    twinOwner: db.prepare(`
      UPDATE twins SET owner = @owner, pending_owner = NULL, updated_block = @block, updated_at = @at
      WHERE twin_id = @twin_id`),
    twinStatus: db.prepare(
      `UPDATE twins SET status = @status, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
    ),
    history: db.prepare(`
      INSERT INTO twin_history (block_number, log_index, block_timestamp, tx_hash, twin_id, kind, previous, next, actor)
      VALUES (@block_number, @log_index, @block_timestamp, @tx_hash, @twin_id, @kind, @previous, @next, @actor)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    sourceAuthorize: db.prepare(`
      INSERT INTO sources (twin_id, source, kind, categories, authorized_block, authorized_log_index, authorized_at,
                           authorized_tx, removed_block, removed_at)
      VALUES (@twin_id, @source, @kind, @categories, @block, @log_index, @at, @tx, NULL, NULL)
      ON CONFLICT (twin_id, source) DO UPDATE SET
        kind = excluded.kind, categories = excluded.categories, authorized_block = excluded.authorized_block,
        authorized_log_index = excluded.authorized_log_index, authorized_at = excluded.authorized_at, authorized_tx = excluded.authorized_tx,
        removed_block = NULL, removed_at = NULL`),
    sourceRemove: db.prepare(`
      UPDATE sources SET removed_block = @block, removed_at = @at
      WHERE twin_id = @twin_id AND source = @source AND removed_block IS NULL`),
    delegateAppoint: db.prepare(`
      INSERT INTO delegates (twin_id, delegate, appointed_block, appointed_log_index, appointed_at, appointed_tx,
                             removed_block, removed_at, removed_by)
      VALUES (@twin_id, @delegate, @block, @log_index, @at, @tx, NULL, NULL, NULL)
      ON CONFLICT (twin_id, delegate) DO UPDATE SET
        appointed_block = excluded.appointed_block, appointed_log_index = excluded.appointed_log_index,
        appointed_at = excluded.appointed_at,
        appointed_tx = excluded.appointed_tx, removed_block = NULL, removed_at = NULL, removed_by = NULL`),
    delegateRemove: db.prepare(`
      UPDATE delegates SET removed_block = @block, removed_at = @at, removed_by = @by, end_reason = 'removed'
      WHERE twin_id = @twin_id AND delegate = @delegate AND removed_block IS NULL`),
    delegatesClear: db.prepare(`
      UPDATE delegates SET removed_block = @block, removed_at = @at, removed_by = NULL, end_reason = 'cleared'
      WHERE twin_id = @twin_id AND removed_block IS NULL`),
    adminTransfer: db.prepare(`
      INSERT INTO default_admin (id, pending_admin, accept_schedule, changed_block, changed_at)
      VALUES (1, @pending, @schedule, @block, @at)
      ON CONFLICT (id) DO UPDATE SET pending_admin = excluded.pending_admin,
        accept_schedule = excluded.accept_schedule, changed_block = excluded.changed_block,
        changed_at = excluded.changed_at`),
    adminTransferClear: db.prepare(`
      UPDATE default_admin SET pending_admin = NULL, accept_schedule = NULL, changed_block = @block, changed_at = @at
      WHERE id = 1 AND accept_schedule IS NOT NULL`),
    adminDelay: db.prepare(`
      INSERT INTO default_admin (id, pending_delay, delay_schedule, changed_block, changed_at)
      VALUES (1, @delay, @schedule, @block, @at)
      ON CONFLICT (id) DO UPDATE SET pending_delay = excluded.pending_delay,
        delay_schedule = excluded.delay_schedule, changed_block = excluded.changed_block,
        changed_at = excluded.changed_at`),
    role: db.prepare(`
      INSERT INTO role_members (role, account, active, changed_block, changed_at, changed_by)
      VALUES (@role, @account, @active, @block, @at, @by)
      ON CONFLICT (role, account) DO UPDATE SET
        active = excluded.active, changed_block = excluded.changed_block, changed_at = excluded.changed_at,
        changed_by = excluded.changed_by`),
    consentGrant: db.prepare(`
      INSERT INTO consents (twin_id, grantee, grantor, categories, actions, purposes, valid_from, valid_until,
                            granted_block, granted_at, updated_block, updated_at, updated_by,
                            revoked_block, revoked_at, revoked_by)
      VALUES (@twin_id, @grantee, @grantor, @categories, @actions, @purposes, @valid_from, @valid_until,
              @block, @at, NULL, NULL, NULL, NULL, NULL, NULL)
      ON CONFLICT (twin_id, grantee) DO UPDATE SET
        grantor = excluded.grantor, categories = excluded.categories, actions = excluded.actions,
        purposes = excluded.purposes, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
        granted_block = excluded.granted_block, granted_at = excluded.granted_at,
        updated_block = NULL, updated_at = NULL, updated_by = NULL,
        revoked_block = NULL, revoked_at = NULL, revoked_by = NULL`),
    consentUpdate: db.prepare(`
      UPDATE consents SET categories = @categories, actions = @actions, purposes = @purposes,
        valid_from = @valid_from, valid_until = @valid_until, updated_block = @block, updated_at = @at,
        updated_by = @by
      WHERE twin_id = @twin_id AND grantee = @grantee`),
    consentRevoke: db.prepare(`
      UPDATE consents SET revoked_block = @block, revoked_at = @at, revoked_by = @by
      WHERE twin_id = @twin_id AND grantee = @grantee AND revoked_block IS NULL`),
    epochBump: db.prepare(`
      INSERT INTO grant_epochs (twin_id, grantee, epoch, changed_block, changed_at)
      VALUES (@twin_id, @grantee, 1, @block, @at)
      ON CONFLICT (twin_id, grantee) DO UPDATE SET epoch = (grant_epochs.epoch + 1) % 4294967296,
        changed_block = excluded.changed_block, changed_at = excluded.changed_at`),
    consentHistory: db.prepare(`
      INSERT INTO consent_history (block_number, log_index, block_timestamp, tx_hash, twin_id, grantee, kind, actor,
                                   categories, actions, purposes, valid_from, valid_until)
      VALUES (@block_number, @log_index, @block_timestamp, @tx_hash, @twin_id, @grantee, @kind, @actor,
              @categories, @actions, @purposes, @valid_from, @valid_until)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    requestOpen: db.prepare(`
      INSERT INTO consent_requests (request_id, twin_id, requester, categories, purposes, duration, reason_hash, status,
                                    block_number, log_index, block_timestamp, tx_hash, expires_at)
      VALUES (@request_id, @twin_id, @requester, @categories, @purposes, @duration, @reason_hash, @status,
              @block_number, @log_index, @block_timestamp, @tx_hash, @expires_at)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    requestClose: db.prepare(`
      UPDATE consent_requests SET status = @status, closed_block = @block, closed_at = @at, closed_by = @by
      WHERE request_id = @request_id`),
    emergencyPolicy: db.prepare(`
      INSERT INTO emergency_policies (twin_id, allowed, max_duration, categories, set_block, set_at)
      VALUES (@twin_id, @allowed, @max_duration, @categories, @block, @at)
      ON CONFLICT (twin_id) DO UPDATE SET
        allowed = excluded.allowed, max_duration = excluded.max_duration, categories = excluded.categories,
        set_block = excluded.set_block, set_at = excluded.set_at`),
    emergencyReplace: db.prepare(`
      UPDATE emergency_accesses SET ended_block = @block, ended_at = @at, ended_by = NULL, end_reason = 'replaced'
      WHERE twin_id = @twin_id AND responder = @responder AND ended_block IS NULL AND until > @at`),
    emergencyOpenOf: db.prepare(`
      SELECT first_opened_at FROM emergency_accesses
      WHERE twin_id = @twin_id AND responder = @responder AND ended_block IS NULL AND until > @at
      ORDER BY block_number DESC, log_index DESC LIMIT 1`),
    emergencyOpen: db.prepare(`
      INSERT INTO emergency_accesses (block_number, log_index, block_timestamp, tx_hash, twin_id, responder, until,
                                      categories, reason_hash, first_opened_at)
      VALUES (@block_number, @log_index, @block_timestamp, @tx_hash, @twin_id, @responder, @until,
              @categories, @reason_hash, @first_opened_at)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    emergencyClose: db.prepare(`
      UPDATE emergency_accesses SET ended_block = @block, ended_at = @at, ended_by = @by, end_reason = @reason,
        cooldown_until = @cooldown_until
      WHERE rowid = (
        SELECT rowid FROM emergency_accesses
        WHERE twin_id = @twin_id AND responder = @responder AND ended_block IS NULL
        ORDER BY block_number DESC, log_index DESC LIMIT 1)`),
    blocked: db.prepare(`
      INSERT INTO blocked_accounts (twin_id, account, blocked, changed_block, changed_log_index, changed_at, changed_tx)
      VALUES (@twin_id, @account, @blocked, @block, @log_index, @at, @tx)
      ON CONFLICT (twin_id, account) DO UPDATE SET blocked = excluded.blocked,
        changed_block = excluded.changed_block, changed_log_index = excluded.changed_log_index,
        changed_at = excluded.changed_at, changed_tx = excluded.changed_tx`),
    blockedIn: db.prepare(
      `SELECT blocked FROM blocked_accounts WHERE twin_id = @twin_id AND account = @account AND changed_tx = @tx`,
    ),
    nonceCancel: db.prepare(`
      INSERT INTO cancelled_nonces (signer, nonce, block_number, log_index, block_timestamp, tx_hash)
      VALUES (@signer, @nonce, @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT DO NOTHING`),
    update: db.prepare(`
      INSERT INTO updates (twin_id, sequence, source, category, content_hash, cid, head,
                           block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @sequence, @source, @category, @content_hash, @cid, @head,
              @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    recordBatch: db.prepare(`
      INSERT INTO record_batches (twin_id, sequence, source, categories, records_root, head,
                                  block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @sequence, @source, @categories, @records_root, @head,
              @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    batch: db.prepare(`
      INSERT INTO batches (twin_id, source, merkle_root, block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @source, @merkle_root, @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    accessLogAnchor: db.prepare(`
      INSERT INTO access_log_anchors (operator, root, from_index, to_index,
                                      block_number, log_index, block_timestamp, tx_hash)
      VALUES (@operator, @root, @from_index, @to_index, @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
    stateCommit: db.prepare(`
      INSERT INTO state_commits (twin_id, epoch, version, custodian, state_root, sources_root,
                                 block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @epoch, @version, @custodian, @state_root, @sources_root,
              @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`),
  };
}
