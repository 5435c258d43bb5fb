import type { Provider, TransactionReceipt } from "ethers";
import { awaitSettled, type Fees, type SendState, type SettleWait } from "./transactions";

/**
 * Replacing a transaction stuck in the mempool: the same call sent again at the same nonce with higher fees, a bounded
 * number of times under a fee cap. Whichever of the sends at that nonce is mined is the transaction; the node drops the
 * others (one nonce, one transaction), so an anchor replaced this way is never doubled.
 *
 * @dev geth and Hardhat accept a replacement whose fees (both `maxFeePerGas` and `maxPriorityFeePerGas`, or the
 * legacy `gasPrice`) are at least 10% above the pending one's; the default bump of 12.5% keeps a margin over that
 * rule. A replacement also takes the node's current suggestion when it is higher, so a base fee that rose past the
 * stuck one's is caught up with in one step.
 */

export type { Fees } from "./transactions";

/** How a stuck transaction is replaced (see `TwinPipelineOptions.feeBump`). */
export interface FeeBumpPolicy {
  /** Replacements of one transaction, over its whole life (restarts included); default 3, 0 never replaces. */
  readonly maxReplacements?: number;
  /** Each replacement's fees are at least the previous send's times 1 + bumpPercent/100; default 12.5 (≥ 10). */
  readonly bumpPercent?: number;
  /**
   * The highest `maxFeePerGas` (or `gasPrice`) a replacement may offer, in wei; default 10× the larger of the first
   * send's and the node's current suggestion.
   */
  readonly maxFeePerGas?: bigint;
}

export const FEE_BUMP_DEFAULTS = { maxReplacements: 3, bumpPercent: 12.5, capMultiple: 10n } as const;

/** Why a node refused a replacement: too low a bump, its nonce already used, the same transaction already held. */
export type ReplacementRefusal = "underpriced" | "nonce too low" | "already known";

/** The refusal a node's error names (geth, Hardhat and anvil wordings), or null for any other failure. */
export function refusalOf(error: unknown): ReplacementRefusal | null {
  const text = messagesOf(error).toLowerCase();
  if (/underpriced|fee too low|gas price too low|replacement fee/.test(text)) return "underpriced";
  if (/nonce too low|nonce has already been used|nonce_expired|already been mined/.test(text)) return "nonce too low";
  if (/already known|already imported|known transaction/.test(text)) return "already known";
  return null;
}

/** The messages of an error and its causes (ethers wraps the node's answer in `error`, `info` and `cause`). */
function messagesOf(error: unknown, depth = 0): string {
  if (error === null || typeof error !== "object" || depth > 4) return typeof error === "string" ? error : "";
  const e = error as { message?: unknown; code?: unknown; shortMessage?: unknown; error?: unknown; cause?: unknown };
  const own = [e.message, e.shortMessage, e.code].filter((m) => typeof m === "string").join(" ");
  return `${own} ${messagesOf(e.error, depth + 1)} ${messagesOf(e.cause, depth + 1)}`;
}

/** `value` × (1 + percent/100), rounded up. */
function raised(value: bigint, percent: number): bigint {
  const basisPoints = BigInt(Math.ceil(percent * 100));
  return (value * (10_000n + basisPoints) + 9_999n) / 10_000n;
}

const larger = (a: bigint, b: bigint | null | undefined): bigint => (b != null && b > a ? b : a);

/** What the node suggests now (ethers' `FeeData`). */
export interface SuggestedFees {
  readonly maxFeePerGas: bigint | null;
  readonly maxPriorityFeePerGas: bigint | null;
  readonly gasPrice: bigint | null;
}

/**
 * The fees of the next replacement of a send with `last` fees: each raised by `bumpPercent` (rounded up), or the
 * node's suggestion when higher; clamped to `cap`. Null when even the minimal bump passes the cap.
 */
export function bumpedFees(last: Fees, suggested: SuggestedFees, bumpPercent: number, cap: bigint): Fees | null {
  if (last.maxFeePerGas === undefined && last.gasPrice !== undefined) {
    const least = raised(last.gasPrice, bumpPercent);
    if (least > cap) return null;
    const gasPrice = larger(least, suggested.gasPrice);
    return { gasPrice: gasPrice > cap ? cap : gasPrice };
  }
  const leastMax = raised(last.maxFeePerGas ?? 0n, bumpPercent);
  const leastPriority = raised(last.maxPriorityFeePerGas ?? 0n, bumpPercent);
  if (leastMax > cap || leastPriority > cap) return null;
  let maxFeePerGas = larger(leastMax, suggested.maxFeePerGas);
  if (maxFeePerGas > cap) maxFeePerGas = cap;
  let maxPriorityFeePerGas = larger(leastPriority, suggested.maxPriorityFeePerGas);
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = larger(leastPriority, null);
  if (maxPriorityFeePerGas > maxFeePerGas) maxFeePerGas = maxPriorityFeePerGas;
  if (maxFeePerGas > cap) return null;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/** The fee a cap is compared with: `maxFeePerGas`, else `gasPrice`. */
export function headlineFee(fees: Fees): bigint | undefined {
  return fees.maxFeePerGas ?? fees.gasPrice;
}

/** A transaction sent at a known nonce, and how to replace it. */
export interface Replaceable {
  /** Checksummed sending account. */
  readonly source: string;
  readonly nonce: number;
  /** Every hash known to have been sent at this nonce (the first send's and the replacements'), oldest first. */
  hashes(): readonly string[];
  /** The fees of the latest send, when journaled (else read from the node by its hash). */
  lastFees(): Fees | undefined;
  /** The first send's fees, when known: the default cap is a multiple of them. */
  firstFees(): Fees | undefined;
  /** Replacements sent so far (journaled, so counted across restarts). */
  replacements(): number;
  /**
   * Send the same call at `nonce` with these fees; absent when no signer of the source is at hand (then only waited
   * for). The implementation journals the fees before the send leaves and the hash once the node took it.
   */
  readonly replace?: (fees: Fees) => Promise<void>;
}

/** Where a replaceable transaction ended: its state, the receipt of whichever of its hashes was mined, and why it stopped. */
export interface Settlement {
  readonly state: SendState;
  /** The receipt of the mined send among the known hashes (null: none of them, or not mined). */
  readonly receipt: TransactionReceipt | null;
  /** Still pending and no replacement allowed any more: the count reached, or the next fee past the cap. */
  readonly exhausted: boolean;
}

/**
 * Wait (bounded by `wait.timeoutMs`) for a transaction at its nonce; while it stays pending and is the account's next
 * transaction to be mined (not merely queued behind an earlier one), replace it with higher fees and wait again, up
 * to `policy.maxReplacements` replacements in all and never past the fee cap. "underpriced" raises the next bump
 * from the refused fees; "nonce too low" and "already known" mean something with that nonce is mined or held: the
 * state is asked again. Any other failure of a replacement propagates (the caller's journal stays).
 */
export async function settleReplacing(
  provider: Provider,
  tx: Replaceable,
  wait: SettleWait,
  policy: FeeBumpPolicy = {},
): Promise<Settlement> {
  const max = policy.maxReplacements ?? FEE_BUMP_DEFAULTS.maxReplacements;
  let floor: Fees | undefined; // a refused replacement's fees: the next one bumps from them
  for (let round = 0; ; round += 1) {
    const intent = { source: tx.source, nonce: tx.nonce, transactionHashes: tx.hashes() };
    const state = await awaitSettled(provider, intent, wait);
    if (state !== "pending") {
      return { state, receipt: state === "mined" ? await receiptOf(provider, tx.hashes()) : null, exhausted: false };
    }
    const stop = { state, receipt: null, exhausted: true } as const;
    if (tx.replace === undefined || round > max) return { ...stop, exhausted: false };
    if (tx.replacements() >= max) return stop;
    // queued behind an earlier pending transaction of the account: that one is the stuck one, not this
    if ((await provider.getTransactionCount(tx.source, "latest")) < tx.nonce) continue;
    const fees = await nextFees(provider, tx, floor, policy);
    if (fees === null) return stop;
    try {
      await tx.replace(fees);
      floor = undefined;
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal === null) throw error;
      if (refusal === "underpriced") floor = fees;
    }
  }
}

/** The fees of the next replacement of `tx`, or null when the cap forbids it. */
async function nextFees(
  provider: Provider,
  tx: Replaceable,
  floor: Fees | undefined,
  policy: FeeBumpPolicy,
): Promise<Fees | null> {
  const [suggested, pendingFees] = await Promise.all([provider.getFeeData(), floor ?? pendingFeesOf(provider, tx)]);
  const last = pendingFees ?? {};
  const first = headlineFee(tx.firstFees() ?? {}) ?? headlineFee(last) ?? 0n;
  const cap =
    policy.maxFeePerGas ?? larger(first, suggested.maxFeePerGas ?? suggested.gasPrice) * FEE_BUMP_DEFAULTS.capMultiple;
  return bumpedFees(last, suggested, policy.bumpPercent ?? FEE_BUMP_DEFAULTS.bumpPercent, cap);
}

/** The fees the pending send offers: as journaled, else as the node holds it by its latest hash. */
async function pendingFeesOf(provider: Provider, tx: Replaceable): Promise<Fees | undefined> {
  const journaled = tx.lastFees();
  if (journaled !== undefined) return journaled;
  const hashes = tx.hashes();
  const last = hashes.length > 0 ? await provider.getTransaction(hashes[hashes.length - 1]) : null;
  if (last === null) return undefined;
  return last.maxFeePerGas !== null
    ? { maxFeePerGas: last.maxFeePerGas, maxPriorityFeePerGas: last.maxPriorityFeePerGas ?? 0n }
    : { gasPrice: last.gasPrice };
}

/** The receipt of whichever of the hashes was mined (at most one: they share a nonce). */
export async function receiptOf(provider: Provider, hashes: readonly string[]): Promise<TransactionReceipt | null> {
  const receipts = await Promise.all(hashes.map((hash) => provider.getTransactionReceipt(hash)));
  return receipts.find((receipt) => receipt !== null) ?? null;
}
