import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { AccessDecision, Action, DataCategory, namesOf, Purpose } from "../src/vocabulary";
import {
  address,
  blockTime,
  bytes32,
  call,
  contextOf,
  durationOf,
  fail,
  iso,
  maskOf,
  oneOf,
  send,
  timeOf,
  type TaskContext,
} from "./lib/context";
import { progress, report, table } from "./lib/output";
import type { TwinArgs } from "./twin";

export interface GrantArgs extends TwinArgs {
  readonly grantee: string;
  readonly categories: string;
  readonly actions: string;
  readonly purposes: string;
  readonly start?: string;
  readonly duration: string;
}

/** consent:grant: a controller of the twin grants (or, with a live grant, updates) a reader's consent. */
export async function consentGrant(args: GrantArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const grantee = address(args.grantee, "--grantee");
  const categories = maskOf(args.categories, DataCategory, "--categories");
  const actions = maskOf(args.actions, Action, "--actions");
  const purposes = maskOf(args.purposes, Purpose, "--purposes");
  const ctx = await contextOf(hre, args);
  const validFrom = args.start ? timeOf(args.start, "--start") : await blockTime(ctx);
  const validUntil = validFrom + durationOf(args.duration, "--duration");
  const existing = await ctx.consent.grantOf(twinId, grantee);
  const live =
    existing.validUntil > BigInt(await blockTime(ctx)) && existing.revokedAt === 0n && existing.actions !== 0n;
  const terms = [twinId, grantee, categories, actions, purposes, validFrom, validUntil] as const;
  const tx = live
    ? await send(ctx, "ConsentPolicy.updateGrant", () => ctx.consent.updateGrant(...terms))
    : await send(ctx, "ConsentPolicy.grant", () => ctx.consent.grant(...terms));
  const data = {
    twinId,
    grantee,
    updated: live,
    categories: namesOf(DataCategory, categories),
    actions: namesOf(Action, actions),
    purposes: namesOf(Purpose, purposes),
    validFrom,
    validUntil,
    ...tx,
  };
  return report(args, data, (d) => [
    `${d.updated ? "Grant updated" : "Granted"}: ${d.grantee} on twin ${d.twinId}`,
    ...table([
      ["categories", d.categories.join(", ")],
      ["actions", d.actions.join(", ")],
      ["purposes", d.purposes.join(", ")],
      ["valid", `${iso(d.validFrom)} to ${iso(d.validUntil)} (block time)`],
      ["transaction", `${d.hash} (block ${d.blockNumber}, ${d.gasUsed} gas)`],
    ]),
  ]);
}

export interface GranteeArgs extends TwinArgs {
  readonly grantee: string;
}

/** consent:revoke: a controller revokes a reader's grant at once. */
export async function consentRevoke(args: GranteeArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const grantee = address(args.grantee, "--grantee");
  const ctx = await contextOf(hre, args);
  const tx = await send(ctx, "ConsentPolicy.revoke", () => ctx.consent.revoke(twinId, grantee));
  return report(args, { twinId, grantee, revoked: true, ...tx }, (d) => [
    `Revoked: ${d.grantee} on twin ${d.twinId}`,
    `transaction ${d.hash} (block ${d.blockNumber}, ${d.gasUsed} gas)`,
  ]);
}

export interface CheckArgs extends GranteeArgs {
  readonly category: string;
  readonly action: string;
  readonly purpose: string;
}

/** consent:check: what `ConsentPolicy.checkAccess` answers now, and the grant behind it. */
export async function consentCheck(args: CheckArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const account = address(args.grantee, "--grantee");
  const category = oneOf(args.category, DataCategory, "--category");
  const action = oneOf(args.action, Action, "--action");
  const purpose = oneOf(args.purpose, Purpose, "--purpose");
  const ctx = await contextOf(hre, args);
  const [decision, grant] = await call(ctx, "ConsentPolicy.checkAccess", () =>
    Promise.all([
      ctx.consent.checkAccess(twinId, account, action, category, purpose),
      ctx.consent.grantOf(twinId, account),
    ]),
  );
  const name = AccessDecision[Number(decision)] ?? `decision ${decision}`;
  const data = {
    twinId,
    grantee: account,
    category: namesOf(DataCategory, category)[0],
    action: namesOf(Action, action)[0],
    purpose: namesOf(Purpose, purpose)[0],
    allowed: Number(decision) === AccessDecision.Allowed,
    decision: name,
    grant:
      grant.actions === 0n
        ? null
        : {
            categories: namesOf(DataCategory, Number(grant.categories)),
            actions: namesOf(Action, Number(grant.actions)),
            purposes: namesOf(Purpose, Number(grant.purposes)),
            validFrom: Number(grant.validFrom),
            validUntil: Number(grant.validUntil),
            revokedAt: Number(grant.revokedAt),
          },
  };
  return report(args, data, (d) => [
    `${d.allowed ? "ALLOWED" : "REFUSED"} (${d.decision}): ${d.grantee} to ${d.action} ${d.category} for ${d.purpose}`,
    d.grant
      ? `grant: ${d.grant.categories.join(", ")} / ${d.grant.actions.join(", ")} / ${d.grant.purposes.join(", ")}, ` +
        `${iso(d.grant.validFrom)} to ${iso(d.grant.validUntil)}${d.grant.revokedAt ? `, revoked ${iso(d.grant.revokedAt)}` : ""}`
      : "grant: none",
  ]);
}

const REQUEST_STATUS = ["None", "Pending", "Granted", "Denied", "Withdrawn"];

export interface RequestsArgs extends TwinArgs {
  readonly fromBlock?: string;
  readonly pending: boolean;
}

/** consent:requests: the twin's consent requests (events scanned from the deployment block), with their status. */
export async function consentRequests(args: RequestsArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const ctx = await contextOf(hre, args);
  const from =
    args.fromBlock !== undefined && args.fromBlock !== "" ? blockNumberOf(args.fromBlock) : ctx.deploymentBlock;
  const events = await scan(ctx, ctx.consent.filters.ConsentRequested(undefined, twinId), from, args);
  const now = await blockTime(ctx);
  const requests = [];
  for (const e of events) {
    const r = await ctx.consent.requestOf(e.args.requestId);
    const status = REQUEST_STATUS[Number(r.status)] ?? String(r.status);
    const open = status === "Pending" && Number(r.expiresAt) > now;
    if (args.pending && !open) continue;
    requests.push({
      requestId: e.args.requestId,
      requester: r.requester,
      categories: namesOf(DataCategory, Number(r.categories)),
      purposes: namesOf(Purpose, Number(r.purposes)),
      duration: Number(r.duration),
      status: status === "Pending" && !open ? "Expired" : status,
      expiresAt: Number(r.expiresAt),
      blockNumber: e.blockNumber,
    });
  }
  return report(args, { twinId, requests }, (d) =>
    d.requests.length === 0
      ? [`No ${args.pending ? "open " : ""}consent requests on twin ${d.twinId}`]
      : [
          `${d.requests.length} consent request${d.requests.length === 1 ? "" : "s"} on twin ${d.twinId}`,
          ...d.requests.map(
            (r) =>
              `#${r.requestId}  ${r.status.padEnd(9)} ${r.requester}  ${r.categories.join(",")} for ` +
              `${r.purposes.join(",")}, ${r.duration} s, expires ${iso(r.expiresAt)}`,
          ),
        ],
  );
}

function blockNumberOf(value: string): number {
  if (!/^\d+$/.test(value)) fail(`--from-block must be a block number, got "${value}"`);
  return Number(value);
}

/** Block ranges per `getLogs` call when scanning events (public RPCs cap the range). */
export const SCAN_BLOCKS = 2_000;

/** Events of a filter from `fromBlock` to the head, range by range, with a progress bar on a terminal. */
async function scan<F extends Parameters<TaskContext["consent"]["queryFilter"]>[0]>(
  ctx: TaskContext,
  filter: F,
  fromBlock: number,
  args: { readonly json: boolean },
) {
  const head = await ctx.hre.ethers.provider.getBlockNumber();
  const ranges = Math.max(1, Math.ceil((head - fromBlock + 1) / SCAN_BLOCKS));
  const bar = progress(args, ranges, "scanning blocks");
  const out = [];
  try {
    for (let start = fromBlock; start <= head; start += SCAN_BLOCKS) {
      out.push(...(await ctx.consent.queryFilter(filter, start, Math.min(head, start + SCAN_BLOCKS - 1))));
      bar.increment();
    }
  } finally {
    bar.stop();
  }
  return out as Awaited<ReturnType<typeof ctx.consent.queryFilter<typeof ctx.consent.filters.ConsentRequested>>>;
}
