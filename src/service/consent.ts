import type { Provider } from "ethers";
import type { ConsentPolicy, TwinRegistry } from "../../typechain-types";
import { AccessDecision, Action } from "../vocabulary";
import { HeadFollower, type ChainHead } from "./head-follower";
import { OperatorStanding, STANDING_STATUS } from "./standing";
import { WallClockWindows } from "./windows";

export { AccessDecision };

/** The refusal codes of the consent check, and the HTTP status the gateway answers with. */
export const REFUSAL_STATUS = {
  "unknown-twin": 404,
  suspended: 403,
  erased: 410,
  "no-consent": 403,
  "not-yet-valid": 403,
  expired: 403,
  revoked: 403,
  "category-not-granted": 403,
  "action-not-granted": 403,
  "wrong-purpose": 403,
  blocked: 403,
  ...STANDING_STATUS,
} as const;

export type RefusalReason = keyof typeof REFUSAL_STATUS;

/** What each refusal says (names no data). */
export const REFUSAL_MESSAGE: Readonly<Record<RefusalReason, string>> = {
  "unknown-twin": "the twin is not registered",
  suspended: "the twin is suspended",
  erased: "the twin was erased",
  "no-consent": "no grant of the reader on this twin",
  "not-yet-valid": "the grant is not valid yet",
  expired: "the grant has expired",
  revoked: "the grant was revoked",
  "category-not-granted": "the grant does not cover the query's categories",
  "action-not-granted": "the grant does not cover the query's action",
  "wrong-purpose": "the grant does not cover the query's purpose",
  blocked: "the patient blocked the reader on this twin",
  "operator-not-custodian": "this gateway's operator is no longer the twin's custodian",
  "operator-not-accredited": "this gateway's operator is no longer an accredited custodian",
};

const REASONS: readonly (RefusalReason | null)[] = [
  null,
  "unknown-twin",
  "suspended",
  "erased",
  "no-consent",
  "not-yet-valid",
  "expired",
  "revoked",
  "category-not-granted",
  "action-not-granted",
  "wrong-purpose",
  "blocked",
];

/** The refusal code of a decision (null for Allowed). */
export function reasonOf(decision: bigint | number): RefusalReason | null {
  const reason = REASONS[Number(decision)];
  if (reason === undefined) return "no-consent"; // an unknown enum value never allows
  return reason;
}

export interface ConsentOutcome {
  /** Null when allowed. */
  readonly reason: RefusalReason | null;
  /** The category bits allowed (the whole asked mask when allowed; for `perCategory`, the allowed part). */
  readonly allowed: number;
}

export type { ChainHead };
/** @deprecated The head tracker is now {@link HeadFollower} (src/service/head-follower.ts). */
export const HeadTracker = HeadFollower;

/** Decisions kept per head: the heads kept, and the decisions per head. */
const HEADS_KEPT = 2;
const DECISIONS_PER_HEAD = 65_536;

/** What the checker judges beside the consent (issue 10, items 6 and 8). */
export interface ConsentCheckerOptions {
  /** With `operator`: the operator's standing is checked at the head (src/service/standing.ts). */
  readonly registry?: TwinRegistry;
  /** The gateway operator's address (the custodian that runs the gateway). */
  readonly operator?: string | Promise<string>;
  /**
   * The gateway's clock, epoch ms: with `registry`, allowed decisions are judged again at max(head time, clock)
   * (src/service/windows.ts). Default Date.now.
   */
  readonly clock?: () => number;
  /** Poll for new heads every this many ms even without requests (0 or absent: only on requests). */
  readonly headPollMs?: number;
}

/**
 * Asks ConsentPolicy.checkAccess at the chain head, for every request: the head is polled for the request (see
 * {@link HeadFollower}), and the decision is the contract's answer at that block, so no answer comes from a state
 * older than the head when the request arrived (a revocation holds from the block that mines it).
 *
 * Beside the consent, at the same head: the operator's standing (custodian of the twin, accredited), when `registry`
 * and `operator` are given; and, when the gateway's clock is past the head's time, the end of what allowed the reader
 * judged against the clock (`expired` once the clock reaches it). Consent refusals come first (a stranger learns
 * nothing of the operator's standing), then the standing, then the clock.
 *
 * The contract's answer at a given block never changes, so it is asked once per block and question: answers are kept
 * by block hash (a reorganized block has another hash) for the last {@link HEADS_KEPT} heads, and concurrent equal
 * questions share one `eth_call`. One question for READ queries; aggregate queries ask AGGREGATE, then READ only if
 * the grant lacks AGGREGATE.
 */
export class ConsentChecker {
  private readonly iface: ConsentPolicy["interface"];
  private heads: HeadFollower | null = null;
  private address: string | null = null;
  /** Block hash → question → the contract's answer at that block (most recent head last). */
  private readonly decisions = new Map<string, Map<string, Promise<RefusalReason | null>>>();
  private readonly standing: OperatorStanding | null;
  private readonly windows: WallClockWindows | null;
  private readonly clock: () => number;

  constructor(
    private readonly consent: ConsentPolicy,
    private readonly options: ConsentCheckerOptions = {},
  ) {
    this.iface = consent.interface;
    const { registry, operator } = options;
    this.standing = registry !== undefined && operator !== undefined ? new OperatorStanding(registry, operator) : null;
    this.windows = registry !== undefined ? new WallClockWindows(consent, registry) : null;
    this.clock = options.clock ?? Date.now;
  }

  private get provider(): Provider {
    const provider = this.consent.runner?.provider;
    if (!provider) throw new Error("the ConsentPolicy contract has no provider");
    return provider;
  }

  /** The follower of the chain's head (created on first use). */
  get follower(): HeadFollower {
    if (this.heads === null) {
      this.heads = new HeadFollower(this.provider);
      if (this.options.headPollMs !== undefined) this.heads.follow(this.options.headPollMs);
    }
    return this.heads;
  }

  /** The head the next decision will be taken at (polled after this call). */
  head(): Promise<ChainHead> {
    return this.follower.current();
  }

  /**
   * Start-up work (the gateway's `listen`): the head, and the operator's accreditation at it, read once, so the first
   * request does not wait for them when no block came since (a later head is fetched as usual: every decision still
   * rests on a head polled after its request arrived). Rejects when the node does not answer.
   */
  async warmUp(): Promise<void> {
    const head = await this.head();
    await this.standing?.warm(head);
  }

  /** Stops the background polling, if any. */
  close(): void {
    this.heads?.stop();
  }

  /**
   * The standing and the clock, after the consent allowed `allowed` at `head` (through `action`): null when they
   * allow too, else the refusal.
   */
  private async beside(
    twinId: string,
    reader: string,
    action: number,
    allowed: number,
    purpose: number,
    head: ChainHead,
    standing: Promise<RefusalReason | null>,
  ): Promise<RefusalReason | null> {
    const refused = await standing;
    if (refused !== null) return refused;
    if (this.windows === null) return null;
    const nowSec = this.clockPast(head);
    if (nowSec === null) return null;
    const end = await this.windows.endOf(twinId, reader, action, allowed, purpose, head);
    return nowSec >= end ? "expired" : null;
  }

  /** The gateway's clock in unix seconds when it is past the head's time (windows are then judged by it), else null. */
  private clockPast(head: ChainHead): number | null {
    const nowSec = Math.floor(this.clock() / 1000);
    return nowSec > head.timestamp ? nowSec : null;
  }

  /**
   * Starts reading, beside the consent's own call, what the clock check would read after an allowed decision (the
   * reader's holdings at `head`, kept per head), when the gateway's clock is past the head's time: an allowed query
   * then waits for one round trip to the node instead of two (a cold twin's first query waited ~5 ms more). A refused
   * query has read it for nothing: three calls once per head, twin and reader.
   */
  private prefetchWindows(twinId: string, reader: string, head: ChainHead): void {
    if (this.windows !== null && this.clockPast(head) !== null) this.windows.prefetch(twinId, reader, head);
  }

  private standingAt(twinId: string, head: ChainHead): Promise<RefusalReason | null> {
    if (this.standing === null) return Promise.resolve(null);
    const answer = this.standing.at(twinId, head);
    answer.catch(() => undefined); // awaited only when the consent allows; a failure then fails the request
    return answer;
  }

  /** The contract's answer at `head`, asked once per block and question. */
  private decide(
    twinId: string,
    reader: string,
    action: number,
    category: number,
    purpose: number,
    head: ChainHead,
  ): Promise<RefusalReason | null> {
    let atHead = this.decisions.get(head.hash);
    if (atHead === undefined) {
      atHead = new Map();
      this.decisions.set(head.hash, atHead);
      if (this.decisions.size > HEADS_KEPT) this.decisions.delete(this.decisions.keys().next().value as string);
    }
    const question = `${twinId.toLowerCase()}:${reader.toLowerCase()}:${action}:${category}:${purpose}`;
    let answer = atHead.get(question);
    if (answer === undefined) {
      if (atHead.size >= DECISIONS_PER_HEAD) atHead.clear();
      answer = this.call(twinId, reader, action, category, purpose, head.number);
      const kept = atHead;
      kept.set(question, answer);
      answer.catch(() => kept.delete(question)); // a failed call is asked again
    }
    return answer;
  }

  /**
   * One `eth_call` of checkAccess. The calldata is encoded here and the call sent straight to the provider (the
   * typechain method adds address resolution and result wrapping on the hot path); the answer is one uint8 word.
   */
  private async call(
    twinId: string,
    reader: string,
    action: number,
    category: number,
    purpose: number,
    blockTag: number,
  ): Promise<RefusalReason | null> {
    this.address ??= await this.consent.getAddress();
    const data = this.iface.encodeFunctionData("checkAccess", [twinId, reader, action, category, purpose]);
    const result = await this.provider.call({ to: this.address, data, blockTag });
    const [decision] = this.iface.decodeFunctionResult("checkAccess", result) as unknown as [bigint];
    return reasonOf(decision);
  }

  /** Whether all of `category` may be read (`read`) or aggregated (`aggregate`: AGGREGATE or READ) at the head. */
  async check(
    twinId: string,
    reader: string,
    action: "read" | "aggregate",
    category: number,
    purpose: number,
  ): Promise<ConsentOutcome> {
    const head = await this.head();
    const standing = this.standingAt(twinId, head);
    this.prefetchWindows(twinId, reader, head);
    let asked: number = action === "aggregate" ? Action.AGGREGATE : Action.READ;
    let reason = await this.decide(twinId, reader, asked, category, purpose, head);
    if (action === "aggregate" && reason === "action-not-granted") {
      asked = Action.READ;
      reason = await this.decide(twinId, reader, asked, category, purpose, head);
    }
    if (reason === null) reason = await this.beside(twinId, reader, asked, category, purpose, head, standing);
    return { reason, allowed: reason === null ? category : 0 };
  }

  /**
   * READ on each bit of `category` (for exports of "what the consent allows"): the whole mask first; if only some
   * categories are not granted, each bit at the same block. Refuses with the first reason when no bit is allowed.
   * The standing and the clock are then judged for the allowed bits (each bit on its own when the whole fails).
   */
  async perCategory(twinId: string, reader: string, category: number, purpose: number): Promise<ConsentOutcome> {
    const head = await this.head();
    const standing = this.standingAt(twinId, head);
    this.prefetchWindows(twinId, reader, head);
    const whole = await this.decide(twinId, reader, Action.READ, category, purpose, head);
    let allowed: number;
    let first: RefusalReason | null = whole;
    if (whole === "category-not-granted") {
      const bits = bitsOf(category);
      const reasons = await Promise.all(
        bits.map((bit) => this.decide(twinId, reader, Action.READ, bit, purpose, head)),
      );
      allowed = bits.reduce((mask, bit, i) => (reasons[i] === null ? mask | bit : mask), 0);
      first = reasons.find((r) => r !== null) ?? whole;
    } else {
      allowed = whole === null ? category : 0;
    }
    if (allowed === 0) return { reason: first, allowed: 0 };
    const beside = await this.beside(twinId, reader, Action.READ, allowed, purpose, head, standing);
    if (beside === null) return { reason: null, allowed };
    if (beside !== "expired") return { reason: beside, allowed: 0 };
    // Past the end of what allowed the whole: each bit on its own (a grant and an emergency access may differ).
    const bits = bitsOf(allowed);
    const verdicts = await Promise.all(
      bits.map((bit) => this.beside(twinId, reader, Action.READ, bit, purpose, head, Promise.resolve(null))),
    );
    const still = bits.reduce((mask, bit, i) => (verdicts[i] === null ? mask | bit : mask), 0);
    return still === 0 ? { reason: "expired", allowed: 0 } : { reason: null, allowed: still };
  }
}

function bitsOf(mask: number): number[] {
  const bits: number[] = [];
  for (let bit = 1; bit !== 0 && bit <= mask >>> 0; bit = (bit << 1) >>> 0) if ((mask & bit) !== 0) bits.push(bit);
  return bits;
}
