import type { Provider } from "ethers";
import type { ConsentPolicy } from "../../typechain-types";
import { AccessDecision, Action } from "../vocabulary";

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
} as const;

export type RefusalReason = keyof typeof REFUSAL_STATUS;

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

/** A block of the chain: the head a consent decision was taken at. */
export interface ChainHead {
  readonly number: number;
  readonly hash: string;
}

/**
 * The chain head, fetched for every request and shared only by requests that arrived before the fetch was sent.
 *
 * `current()` joins the fetch scheduled for the end of this event-loop turn, or schedules one; a request that arrives
 * after that fetch was sent waits for the next one. Every request is thus decided at a head no older than the head
 * when it arrived, with one `eth_getBlockByNumber` per turn instead of one per request.
 */
export class HeadTracker {
  private next: Promise<ChainHead> | null = null;

  constructor(private readonly provider: Provider) {}

  current(): Promise<ChainHead> {
    if (this.next !== null) return this.next;
    const next = new Promise<ChainHead>((resolve, reject) => {
      setImmediate(() => {
        this.next = null; // requests from now on need a fetch sent after they arrived
        Promise.resolve()
          .then(() => this.provider.getBlock("latest"))
          .then((block) => {
            if (block === null || block.hash === null) reject(new Error("the node returned no latest block"));
            else resolve({ number: block.number, hash: block.hash });
          }, reject);
      });
    });
    this.next = next;
    return next;
  }
}

/** Decisions kept per head: the heads kept, and the decisions per head. */
const HEADS_KEPT = 2;
const DECISIONS_PER_HEAD = 65_536;

/**
 * Asks ConsentPolicy.checkAccess at the chain head, for every request: the head is fetched for the request (see
 * {@link HeadTracker}), and the decision is the contract's answer at that block, so no answer comes from a state older
 * than the head when the request arrived (a revocation holds from the block that mines it).
 *
 * The contract's answer at a given block never changes, so it is asked once per block and question: answers are kept
 * by block hash (a reorganized block has another hash) for the last {@link HEADS_KEPT} heads, and concurrent equal
 * questions share one `eth_call`. One question for READ queries; aggregate queries ask AGGREGATE, then READ only if
 * the grant lacks AGGREGATE.
 */
export class ConsentChecker {
  private readonly iface: ConsentPolicy["interface"];
  private heads: HeadTracker | null = null;
  private address: string | null = null;
  /** Block hash → question → the contract's answer at that block (most recent head last). */
  private readonly decisions = new Map<string, Map<string, Promise<RefusalReason | null>>>();

  constructor(private readonly consent: ConsentPolicy) {
    this.iface = consent.interface;
  }

  private get provider(): Provider {
    const provider = this.consent.runner?.provider;
    if (!provider) throw new Error("the ConsentPolicy contract has no provider");
    return provider;
  }

  /** The head the next decision will be taken at (fetched after this call). */
  head(): Promise<ChainHead> {
    this.heads ??= new HeadTracker(this.provider);
    return this.heads.current();
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
    let reason = await this.decide(
      twinId,
      reader,
      action === "aggregate" ? Action.AGGREGATE : Action.READ,
      category,
      purpose,
      head,
    );
    if (action === "aggregate" && reason === "action-not-granted") {
      reason = await this.decide(twinId, reader, Action.READ, category, purpose, head);
    }
    return { reason, allowed: reason === null ? category : 0 };
  }

  /**
   * READ on each bit of `category` (for exports of "what the consent allows"): the whole mask first; if only some
   * categories are not granted, each bit at the same block. Refuses with the first reason when no bit is allowed.
   */
  async perCategory(twinId: string, reader: string, category: number, purpose: number): Promise<ConsentOutcome> {
    const head = await this.head();
    const whole = await this.decide(twinId, reader, Action.READ, category, purpose, head);
    if (whole !== "category-not-granted") return { reason: whole, allowed: whole === null ? category : 0 };
    const bits: number[] = [];
    for (let bit = 1; bit !== 0 && bit <= category; bit <<= 1) if ((category & bit) !== 0) bits.push(bit);
    const reasons = await Promise.all(bits.map((bit) => this.decide(twinId, reader, Action.READ, bit, purpose, head)));
    const allowed = bits.reduce((mask, bit, i) => (reasons[i] === null ? mask | bit : mask), 0);
    return { reason: allowed === 0 ? (reasons.find((r) => r !== null) ?? whole) : null, allowed };
  }
}
