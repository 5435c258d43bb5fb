import type { Chain } from "./env";

/** Reads of the contracts for the page: the typechain bindings over the gateway's JSON-RPC relay. */

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

export async function chainTime(chain: Chain): Promise<number> {
  const block = await chain.provider.getBlock("latest");
  return Math.max(block?.timestamp ?? 0, Math.floor(Date.now() / 1000));
}

/** The twins the account created (TwinCreated with it as owner), with their status. */
export async function ownedTwins(chain: Chain, owner: string): Promise<{ twinId: string; status: string }[]> {
  const events = await chain.registry.queryFilter(chain.registry.filters.TwinCreated(undefined, owner));
  const ids = [...new Set(events.map((e) => e.args.twinId))];
  const owned = await Promise.all(
    ids.map(async (twinId) => ({
      twinId,
      owner: await chain.registry.ownerOf(twinId).catch(() => owner),
      status: TWIN_STATUS[Number(await chain.registry.statusOf(twinId))] ?? "none",
    })),
  );
  return owned.filter((t) => t.owner.toLowerCase() === owner.toLowerCase() || t.status === "erased");
}

async function grantOf(chain: Chain, twinId: string, grantee: string): Promise<GrantView> {
  const g = await chain.consent.grantOf(twinId, grantee);
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
export async function grantsOfTwin(chain: Chain, twinId: string): Promise<GrantView[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.ConsentGranted(twinId));
  const grantees = [...new Set(events.map((e) => e.args.grantee))];
  return Promise.all(grantees.map((grantee) => grantOf(chain, twinId, grantee)));
}

/** The grants the account holds (a clinician's patient list). */
export async function grantsHeld(chain: Chain, grantee: string): Promise<GrantView[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.ConsentGranted(undefined, grantee));
  const twins = [...new Set(events.map((e) => e.args.twinId))];
  return Promise.all(twins.map((twinId) => grantOf(chain, twinId, grantee)));
}

export async function emergencyPolicy(chain: Chain, twinId: string) {
  const p = await chain.consent.emergencyPolicyOf(twinId);
  return { allowed: p.allowed, maxDuration: Number(p.maxDuration), categories: Number(p.categories) };
}

/** Every responder who opened emergency access on the twin, with the access as it stands and the last reason. */
export async function emergencyAccesses(chain: Chain, twinId: string): Promise<EmergencyView[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.EmergencyAccessOpened(twinId));
  const reasons = new Map<string, string>();
  for (const e of events) reasons.set(e.args.responder, e.args.reasonHash);
  return Promise.all(
    [...reasons].map(async ([responder, reasonHash]) => {
      const a = await chain.consent.emergencyAccessOf(twinId, responder);
      return {
        responder,
        reasonHash,
        openedAt: Number(a.openedAt),
        until: Number(a.until),
        cooldownUntil: Number(a.cooldownUntil),
        blocked: await chain.consent.isBlocked(twinId, responder),
      };
    }),
  );
}

export async function consentRequests(chain: Chain, twinId: string): Promise<RequestView[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.ConsentRequested(undefined, twinId));
  return Promise.all(
    events.map(async (e) => {
      const r = await chain.consent.requestOf(e.args.requestId);
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
export async function blockedAccounts(chain: Chain, twinId: string): Promise<string[]> {
  const events = await chain.consent.queryFilter(chain.consent.filters.AccountBlocked(twinId));
  const last = new Map<string, boolean>();
  for (const e of events) last.set(e.args.account, e.args.blocked);
  return [...last].filter(([, blocked]) => blocked).map(([account]) => account);
}
