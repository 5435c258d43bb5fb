import type { IConsentPolicy } from "../../../typechain-types/contracts/interfaces/IConsentPolicy";
import { encodeUint256, smallUint } from "../codec";
import { EMERGENCY_COOLDOWN_SECONDS, REQUEST_LIFETIME_SECONDS } from "../constants";
import type { ChainPosition } from "../types";
import { bumpEpoch, erase, grantTerms, hex, position, REQUEST_PENDING, type WriteContext } from "./common";

/** What ConsentGranted and ConsentUpdated both carry. */
type GrantEvent = Parameters<typeof grantTerms>[0] & {
  readonly twinId: string;
  readonly grantee: string;
  readonly grantor: string;
};

/**
 * The handler of a grant (`consentGrant`, history "granted") or of an update of one (`consentUpdate`, "updated"): the
 * pair's epoch moves on, the consent row takes the terms, the pair's history records them with the grantor.
 */
function recordGrant(statement: "consentGrant" | "consentUpdate", kind: "granted" | "updated") {
  return async (e: GrantEvent, at: ChainPosition, w: WriteContext): Promise<void> => {
    const terms = grantTerms(e);
    await bumpEpoch(w, e.twinId, e.grantee, at);
    await w.run(statement, {
      twin_id: hex(e.twinId),
      grantee: e.grantee,
      grantor: e.grantor,
      ...terms,
      block: at.blockNumber,
      at: at.timestamp,
    });
    await w.run("consentHistory", {
      ...position(at),
      twin_id: hex(e.twinId),
      grantee: e.grantee,
      kind,
      actor: e.grantor,
      ...terms,
    });
  };
}

/** ConsentPolicy's events: grants and their epochs, requests, emergency access, blocks and cancelled nonces. */
export const consentHandlers = erase<IConsentPolicy>({
  ConsentGranted: recordGrant("consentGrant", "granted"),
  ConsentUpdated: recordGrant("consentUpdate", "updated"),
  ConsentRevoked: async (e, at, w) => {
    await bumpEpoch(w, e.twinId, e.grantee, at);
    // v2: a revoke with no live grant (none, or revoked already) only bumps the epoch, voiding the pair's
    // unrelayed signatures: it must neither invent a grant nor move an earlier revocation.
    const revoked = await w.run("consentRevoke", {
      twin_id: hex(e.twinId),
      grantee: e.grantee,
      by: e.revokedBy,
      block: at.blockNumber,
      at: at.timestamp,
    });
    await w.run("consentHistory", {
      ...position(at),
      twin_id: hex(e.twinId),
      grantee: e.grantee,
      kind: revoked > 0 ? "revoked" : "voided",
      actor: e.revokedBy,
      categories: null,
      actions: null,
      purposes: null,
      valid_from: null,
      valid_until: null,
    });
  },
  ConsentRequested: async (e, at, w) => {
    await w.run("requestOpen", {
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
  ConsentRequestClosed: async (e, at, w) => {
    await w.run("requestClose", {
      request_id: encodeUint256(e.requestId),
      status: smallUint(e.status),
      block: at.blockNumber,
      at: at.timestamp,
      by: e.closedBy,
    });
  },
  EmergencyPolicySet: async (e, at, w) => {
    await w.run("emergencyPolicy", {
      twin_id: hex(e.twinId),
      allowed: e.allowed ? 1 : 0,
      max_duration: smallUint(e.maxDuration),
      categories: smallUint(e.categories),
      block: at.blockNumber,
      at: at.timestamp,
    });
  },
  EmergencyAccessOpened: async (e, at, w) => {
    // Re-opening while open keeps the first opening (the contract caps the end from it; the event's `until` is
    // the capped end); otherwise the access starts afresh.
    const open = await w.get<{ first_opened_at: number }>("emergencyOpenOf", {
      twin_id: hex(e.twinId),
      responder: e.responder,
      at: at.timestamp,
    });
    await w.run("emergencyReplace", {
      twin_id: hex(e.twinId),
      responder: e.responder,
      block: at.blockNumber,
      at: at.timestamp,
    });
    await w.run("emergencyOpen", {
      first_opened_at: open?.first_opened_at ?? at.timestamp,
      ...position(at),
      twin_id: hex(e.twinId),
      responder: e.responder,
      until: smallUint(e.until),
      categories: smallUint(e.categories),
      reason_hash: hex(e.reasonHash),
    });
  },
  EmergencyAccessClosed: async (e, at, w) => {
    // setBlocked emits AccountBlocked, then this in the same transaction: a close by blocking, no cooldown.
    // A close by someone else than the responder (a controller) starts the responder's cooldown.
    const block = await w.get<{ blocked: number }>("blockedIn", {
      twin_id: hex(e.twinId),
      account: e.responder,
      tx: at.transactionHash,
    });
    const byBlocking = block?.blocked === 1;
    const cooldown = !byBlocking && e.closedBy !== e.responder;
    await w.run("emergencyClose", {
      twin_id: hex(e.twinId),
      responder: e.responder,
      block: at.blockNumber,
      at: at.timestamp,
      by: e.closedBy,
      reason: byBlocking ? "blocked" : "closed",
      cooldown_until: cooldown ? at.timestamp + EMERGENCY_COOLDOWN_SECONDS : null,
    });
  },
  AccountBlocked: async (e, at, w) => {
    await w.run("blocked", {
      twin_id: hex(e.twinId),
      account: e.account,
      blocked: e.blocked ? 1 : 0,
      block: at.blockNumber,
      log_index: at.logIndex,
      at: at.timestamp,
      tx: at.transactionHash,
    });
  },
  NonceCancelled: async (e, at, w) => {
    await w.run("nonceCancel", { ...position(at), signer: e.signer, nonce: encodeUint256(e.nonce) });
  },
});
