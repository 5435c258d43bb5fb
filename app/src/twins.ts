import type { Chain } from "./env";
import type { ReadPoint } from "./head";

/**
 * Reads of the contracts for the page: the typechain bindings over the gateway's JSON-RPC relay, each at the block of
 * the view's `ReadPoint` (head.ts): every read of a view sees the same state, and none predates the page's actions.
 */

export interface GrantView {
  readonly twinId: string;
  readonly grantee: string;
  readonly categories: number;
  readonly actions: number;
  readonly purposes: number;
  readonly validFrom: number;
  readonly validUntil: number;
  readonly revokedAt: number;
}

export interface EmergencyView {
  readonly responder: string;
  readonly openedAt: number;
  readonly until: number;
  readonly cooldownUntil: number;
  readonly reasonHash: string;
  readonly blocked: boolean;
}

export interface RequestView {
  readonly id: bigint;
  readonly requester: string;
  readonly categories: number;
  readonly purposes: number;
  readonly duration: number;
  readonly status: number;
  readonly expiresAt: number;
}

export const TWIN_STATUS = ["none", "active", "suspended", "erased"] as const;

/** The twins the account created (TwinCreated with it as owner), with their status. */
export async function ownedTwins(
  chain: Chain,
  owner: string,
  at: ReadPoint,
): Promise<{ twinId: string; status: string }[]> {
  const { blockTag } = at;
  const events = await chain.registry.queryFilter(chain.registry.filters.TwinCreated(undefined, owner), 0, blockTag);
  const ids = [...new Set(events.map((e) => e.args.twinId))];
  const owned = await Promise.all(
    ids.map(async (twinId) => ({
      twinId,
      owner: await chain.registry.ownerOf(twinId, { blockTag }).catch(() => owner),
      status: TWIN_STATUS[Number(await chain.registry.statusOf(twinId, { blockTag }))] ?? "none",
    })),
  );
  return owned.filter((t) => t.owner.toLowerCase() === owner.toLowerCase() || t.status === "erased");
}

async function grantOf(chain: Chain, twinId: string, grantee: string, at: ReadPoint): Promise<GrantView> {
  const g = await chain.consent.grantOf(twinId, grantee, { blockTag: at.blockTag });
  return {
    twinId,
    grantee,
    categories: Number(g.categories),
    actions: Number(g.actions),
    purposes: Number(g.purposes),
    validFrom: Number(g.validFrom),
    validUntil: Number(g.validUntil),
    revokedAt: Number(g.revokedAt),
  };
}

/** Every grant ever made on the twin, as the contract holds it now. */
export async function grantsOfTwin(chain: Chain, twinId: string, at: ReadPoint): Promise<GrantView[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.ConsentGranted(twinId), 0, at.blockTag);
  const grantees = [...new Set(events.map((e) => e.args.grantee))];
  return Promise.all(grantees.map((grantee) => grantOf(chain, twinId, grantee, at)));
}

/** The grants the account holds (a clinician's patient list). */
export async function grantsHeld(chain: Chain, grantee: string, at: ReadPoint): Promise<GrantView[]> {
  const events = await chain.consent.queryFilter(
    chain.consent.filters.ConsentGranted(undefined, grantee),
    0,
    at.blockTag,
  );
  const twins = [...new Set(events.map((e) => e.args.twinId))];
  return Promise.all(twins.map((twinId) => grantOf(chain, twinId, grantee, at)));
}

export async function emergencyPolicy(chain: Chain, twinId: string, at: ReadPoint) {
  const p = await chain.consent.emergencyPolicyOf(twinId, { blockTag: at.blockTag });
  return { allowed: p.allowed, maxDuration: Number(p.maxDuration), categories: Number(p.categories) };
}

/** Every responder who opened emergency access on the twin, with the access as it stands and the last reason. */
export async function emergencyAccesses(chain: Chain, twinId: string, at: ReadPoint): Promise<EmergencyView[]> {
  const { blockTag } = at;
  const events = await chain.consent.queryFilter(chain.consent.filters.EmergencyAccessOpened(twinId), 0, blockTag);
  const reasons = new Map<string, string>();
  for (const e of events) reasons.set(e.args.responder, e.args.reasonHash);
  return Promise.all(
    [...reasons].map(async ([responder, reasonHash]) => {
      const a = await chain.consent.emergencyAccessOf(twinId, responder, { blockTag });
      return {
        responder,
        reasonHash,
        openedAt: Number(a.openedAt),
        until: Number(a.until),
        cooldownUntil: Number(a.cooldownUntil),
        blocked: await chain.consent.isBlocked(twinId, responder, { blockTag }),
      };
    }),
  );
}

export async function consentRequests(chain: Chain, twinId: string, at: ReadPoint): Promise<RequestView[]> {
  const { blockTag } = at;
  const events = await chain.consent.queryFilter(
    chain.consent.filters.ConsentRequested(undefined, twinId),
    0,
    blockTag,
  );
  return Promise.all(
    events.map(async (e) => {
      const r = await chain.consent.requestOf(e.args.requestId, { blockTag });
      return {
        id: e.args.requestId,
        requester: r.requester,
        categories: Number(r.categories),
        purposes: Number(r.purposes),
        duration: Number(r.duration),
        status: Number(r.status),
        expiresAt: Number(r.expiresAt),
      };
    }),
  );
}

/** Accounts blocked on the twin now (the last AccountBlocked of each). */
export async function blockedAccounts(chain: Chain, twinId: string, at: ReadPoint): Promise<string[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.AccountBlocked(twinId), 0, at.blockTag);
  const last = new Map<string, boolean>();
  for (const e of events) last.set(e.args.account, e.args.blocked);
  return [...last].filter(([, blocked]) => blocked).map(([account]) => account);
}
