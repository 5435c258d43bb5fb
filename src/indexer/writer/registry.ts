import { ZeroAddress, ZeroHash } from "ethers";
import type { TwinRegistry } from "../../../typechain-types/contracts/TwinRegistry";
import { TwinStatus } from "../../vocabulary";
import { smallUint } from "../codec";
import type { ChainPosition, TwinHistoryKind } from "../types";
import { erase, hex, history, setStatus, touch, type WriteContext } from "./common";

/** The handler of a suspension or a resumption: the twin's status, and its history with who did it. */
function recordStatus(status: TwinStatus, kind: TwinHistoryKind) {
  return async (e: { readonly twinId: string; readonly by: string }, at: ChainPosition, w: WriteContext) => {
    await setStatus(w, e.twinId, status, at);
    await history(w, e.twinId, kind, at, { actor: e.by });
  };
}

/** The handler of RoleGranted (`active` 1) and RoleRevoked (0): the membership row, with who changed it. */
function recordRole(active: 0 | 1) {
  return async (
    e: { readonly role: string; readonly account: string; readonly sender: string },
    at: ChainPosition,
    w: WriteContext,
  ) => {
    // Accepting a default-admin transfer (revoke, then grant) or renouncing the role ends the pending transfer.
    if (hex(e.role) === ZeroHash) await w.run("adminTransferClear", { block: at.blockNumber, at: at.timestamp });
    await w.run("role", {
      role: hex(e.role),
      account: e.account,
      active,
      block: at.blockNumber,
      at: at.timestamp,
      by: e.sender,
    });
  };
}

/** TwinRegistry's events: twins, sources, delegates, ownership, status, roles and the default admin. */
export const registryHandlers = erase<TwinRegistry>({
  TwinCreated: async (e, at, w) => {
    await w.run("twinCreate", {
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
    await history(w, e.twinId, "created", at, { next: e.owner, actor: e.owner });
  },
  TwinMetadataUpdated: async (e, at, w) => {
    await w.run("twinMetadata", { ...touch(e.twinId, at), metadata: hex(e.metadataCommitment) });
    await history(w, e.twinId, "metadata-updated", at, { next: hex(e.metadataCommitment) });
  },
  CustodianChanged: async (e, at, w) => {
    await w.run("twinCustodian", { ...touch(e.twinId, at), custodian: e.newCustodian });
    await history(w, e.twinId, "custodian-changed", at, { previous: e.previousCustodian, next: e.newCustodian });
  },
  SourceAuthorized: async (e, at, w) => {
    await w.run("sourceAuthorize", {
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
  SourceRemoved: async (e, at, w) => {
    await w.run("sourceRemove", { twin_id: hex(e.twinId), source: e.source, block: at.blockNumber, at: at.timestamp });
  },
  DelegateAppointed: async (e, at, w) => {
    await w.run("delegateAppoint", {
      twin_id: hex(e.twinId),
      delegate: e.delegate,
      block: at.blockNumber,
      log_index: at.logIndex,
      at: at.timestamp,
      tx: at.transactionHash,
    });
  },
  DelegateRemoved: async (e, at, w) => {
    await w.run("delegateRemove", {
      twin_id: hex(e.twinId),
      delegate: e.delegate,
      block: at.blockNumber,
      at: at.timestamp,
      by: e.removedBy,
    });
  },
  DelegatesCleared: async (e, at, w) => {
    // acceptOwnership ends every delegate of the twin (the registry's delegate epoch): none is listed any more.
    await w.run("delegatesClear", { twin_id: hex(e.twinId), block: at.blockNumber, at: at.timestamp });
    await history(w, e.twinId, "delegates-cleared", at, {});
  },
  OwnershipTransferStarted: async (e, at, w) => {
    const cancelled = e.newOwner === ZeroAddress;
    await w.run("twinPendingOwner", { ...touch(e.twinId, at), pending: cancelled ? null : e.newOwner });
    await history(w, e.twinId, cancelled ? "ownership-transfer-cancelled" : "ownership-transfer-started", at, {
      previous: e.previousOwner,
      next: cancelled ? null : e.newOwner,
    });
  },
  OwnershipTransferred: async (e, at, w) => {
    await w.run("twinOwner", { ...touch(e.twinId, at), owner: e.newOwner });
    await history(w, e.twinId, "ownership-transferred", at, {
      previous: e.previousOwner,
      next: e.newOwner,
      actor: e.newOwner,
    });
  },
  TwinSuspended: recordStatus(TwinStatus.Suspended, "suspended"),
  TwinResumed: recordStatus(TwinStatus.Active, "resumed"),
  TwinErased: async (e, at, w) => {
    await setStatus(w, e.twinId, TwinStatus.Erased, at);
    await w.run("twinPendingOwner", { ...touch(e.twinId, at), pending: null });
    await history(w, e.twinId, "erased", at, { actor: e.by });
  },
  RoleGranted: recordRole(1),
  RoleRevoked: recordRole(0),
  DefaultAdminTransferScheduled: async (e, at, w) => {
    await w.run("adminTransfer", {
      pending: e.newAdmin,
      schedule: smallUint(e.acceptSchedule),
      block: at.blockNumber,
      at: at.timestamp,
    });
  },
  DefaultAdminTransferCanceled: async (_e, at, w) => {
    await w.run("adminTransferClear", { block: at.blockNumber, at: at.timestamp });
  },
  DefaultAdminDelayChangeScheduled: async (e, at, w) => {
    await w.run("adminDelay", {
      delay: smallUint(e.newDelay),
      schedule: smallUint(e.effectSchedule),
      block: at.blockNumber,
      at: at.timestamp,
    });
  },
  DefaultAdminDelayChangeCanceled: async (_e, at, w) => {
    await w.run("adminDelay", { delay: null, schedule: null, block: at.blockNumber, at: at.timestamp });
  },
});
