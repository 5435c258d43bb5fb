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

/**
 * Asks ConsentPolicy.checkAccess at the chain head, every time: `blockTag: "latest"`, so no answer comes from a state
 * older than the head (a revocation holds from the block that mines it). One eth_call for READ queries; aggregate
 * queries ask AGGREGATE, then READ only if the grant lacks AGGREGATE.
 */
export class ConsentChecker {
  private readonly iface: ConsentPolicy["interface"];
  private address: string | null = null;

  constructor(private readonly consent: ConsentPolicy) {
    this.iface = consent.interface;
  }

  /**
   * One `eth_call` of checkAccess. The calldata is encoded here and the call sent straight to the provider (the
   * typechain method adds address resolution and result wrapping on the hot path); the answer is one uint8 word.
   */
  private async decide(
    twinId: string,
    reader: string,
    action: number,
    category: number,
    purpose: number,
    blockTag: string | number,
  ): Promise<RefusalReason | null> {
    const provider = this.consent.runner?.provider;
    if (!provider) throw new Error("the ConsentPolicy contract has no provider");
    this.address ??= await this.consent.getAddress();
    const data = this.iface.encodeFunctionData("checkAccess", [twinId, reader, action, category, purpose]);
    const result = await provider.call({ to: this.address, data, blockTag });
    const [decision] = this.iface.decodeFunctionResult("checkAccess", result) as unknown as [bigint];
    return reasonOf(decision);
  }

  /** Whether all of `category` may be read (`read`) or aggregated (`aggregate`: AGGREGATE or READ) now. */
  async check(
    twinId: string,
    reader: string,
    action: "read" | "aggregate",
    category: number,
    purpose: number,
  ): Promise<ConsentOutcome> {
    let reason = await this.decide(
      twinId,
      reader,
      action === "aggregate" ? Action.AGGREGATE : Action.READ,
      category,
      purpose,
      "latest",
    );
    if (action === "aggregate" && reason === "action-not-granted") {
      reason = await this.decide(twinId, reader, Action.READ, category, purpose, "latest");
    }
    return { reason, allowed: reason === null ? category : 0 };
  }

  /**
   * READ on each bit of `category` (for exports of "what the consent allows"): the whole mask first; if only some
   * categories are not granted, each bit at one block. Refuses with the first reason when no bit is allowed.
   */
  async perCategory(twinId: string, reader: string, category: number, purpose: number): Promise<ConsentOutcome> {
    const whole = await this.decide(twinId, reader, Action.READ, category, purpose, "latest");
    if (whole !== "category-not-granted") return { reason: whole, allowed: whole === null ? category : 0 };
    const blockNumber = await this.runnerBlockNumber();
    const bits: number[] = [];
    for (let bit = 1; bit !== 0 && bit <= category; bit <<= 1) if ((category & bit) !== 0) bits.push(bit);
    const reasons = await Promise.all(
      bits.map((bit) => this.decide(twinId, reader, Action.READ, bit, purpose, blockNumber)),
    );
    const allowed = bits.reduce((mask, bit, i) => (reasons[i] === null ? mask | bit : mask), 0);
    return { reason: allowed === 0 ? (reasons.find((r) => r !== null) ?? whole) : null, allowed };
  }

  private async runnerBlockNumber(): Promise<number> {
    const provider = this.consent.runner?.provider;
    if (!provider) throw new Error("the ConsentPolicy contract has no provider");
    return provider.getBlockNumber();
  }
}
