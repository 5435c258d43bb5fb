import type { ContractTransactionResponse, Provider, Signer, TransactionReceipt } from "ethers";
import { NonceManager } from "./nonce-manager";

/** The fees of one send, in wei: EIP-1559 (`maxFeePerGas`, `maxPriorityFeePerGas`) or legacy (`gasPrice`). */
export interface Fees {
  readonly maxFeePerGas?: bigint;
  readonly maxPriorityFeePerGas?: bigint;
  readonly gasPrice?: bigint;
}

/**
 * Sends one transaction with the nonce it is given; `fees` when it replaces a stuck one at that nonce (the same call,
 * higher fees: see fee-bump.ts), else the signer's own.
 */
export type NoncedSend = (nonce: number, fees?: Fees) => Promise<ContractTransactionResponse>;

/** What `sendWithNonces` got through: the receipts of the mined transactions, in order, and the first failure. */
export interface SentTransactions {
  readonly receipts: readonly TransactionReceipt[];
  /** Set when a transaction could not be sent, reverted or is still pending; `receipts` holds those before it. */
  readonly failure?: { readonly index: number; readonly cause: unknown };
  /** The sends still pending in the mempool after the bounded wait of `hooks.settle` (by index). */
  readonly pending: ReadonlySet<number>;
}

/** Called around each submission of {@link sendWithNonces} (a journal records the nonce before the send). */
export interface SendHooks {
  /** Before the transaction with this nonce leaves: a throw stops the submitting (nothing sent). */
  readonly beforeSubmit?: (index: number, nonce: number) => Promise<void>;
  /** Once the node took it (its hash and fees known). */
  readonly submitted?: (index: number, response: ContractTransactionResponse) => void;
  /**
   * How a submitted transaction is waited for: its receipt (whichever send at its nonce was mined), null when it
   * settled without one, or "pending" when still in the mempool after a bounded wait (and replacements: fee-bump.ts
   * `settleReplacing`). Default: `response.wait()`, unbounded.
   */
  readonly settle?: (
    index: number,
    response: ContractTransactionResponse,
  ) => Promise<TransactionReceipt | null | "pending">;
}

/**
 * Send transactions from one signer with explicit nonces from `nonces` (the pipeline's manager: consecutive for this
 * account, other twins' transactions of the same account may come in between), submitting them one after the other
 * without waiting for each to be mined, then wait for every receipt. A failed submission stops the submitting; the
 * receipts of the transactions before the first failure are returned with it. Those from the failure on may still
 * have been mined (a receipt lost, a later one submitted before an earlier wait failed): a caller that journaled
 * their nonces (`hooks.beforeSubmit`) asks the chain about them ({@link awaitSettled}) rather than sending again.
 *
 * @dev Submitting in order keeps the nonces gap-free on every node; waiting in parallel lets a
 * network with real blocks mine many of them per block.
 */
export async function sendWithNonces(
  signer: Signer,
  sends: readonly NoncedSend[],
  nonces: NonceManager = new NonceManager(),
  hooks: SendHooks = {},
): Promise<SentTransactions> {
  const pending = new Set<number>();
  if (sends.length === 0) return { receipts: [], pending };
  const responses: ContractTransactionResponse[] = [];
  let failure: { index: number; cause: unknown } | undefined;
  for (const [index, send] of sends.entries()) {
    try {
      const response = await nonces.submit(signer, async (nonce) => {
        await hooks.beforeSubmit?.(index, nonce);
        return send(nonce);
      });
      hooks.submitted?.(index, response);
      responses.push(response);
    } catch (cause) {
      failure = { index, cause };
      break;
    }
  }
  const settle = hooks.settle ?? ((_: number, response: ContractTransactionResponse) => response.wait());
  const settled = await Promise.allSettled(responses.map((response, i) => settle(i, response)));
  const receipts: TransactionReceipt[] = [];
  for (const [index, outcome] of settled.entries()) {
    if (outcome.status === "fulfilled" && outcome.value === "pending") pending.add(index);
  }
  for (const [index, outcome] of settled.entries()) {
    const value = outcome.status === "fulfilled" ? outcome.value : null;
    if (value !== null && value !== "pending" && value.status === 1) {
      receipts.push(value);
      continue;
    }
    const cause =
      outcome.status === "rejected"
        ? outcome.reason
        : new Error(value === "pending" ? "still pending in the mempool" : "no receipt");
    failure = { index, cause };
    break;
  }
  return failure === undefined ? { receipts, pending } : { receipts, failure, pending };
}

/**
 * Sends one transaction from `signer` with a nonce of `nonces` and waits for its receipt: the default is
 * {@link sendOnce}; the pipeline's journals bound the wait and replace a stuck transaction (recovery.ts).
 */
export type AnchorSender = (
  signer: Signer,
  send: NoncedSend,
  nonces: NonceManager,
) => Promise<TransactionReceipt | null>;

/** Submit with the next nonce and wait for the receipt, unbounded. */
export const sendOnce: AnchorSender = async (signer, send, nonces) =>
  (await nonces.submit(signer, (nonce) => send(nonce))).wait();

/**
 * Where a transaction whose outcome is unknown stands (a lost receipt, a process killed after the send):
 * - `mined`: in a block (the transaction with this hash, or another one with its nonce; the nonce unknown, some
 *   transaction of the account from `nonceFloor` on): the chain's event says whether it did what was sent;
 * - `pending`: waiting in the node's mempool (known by its hash without a block, or its nonce not mined while the
 *   node's pending count covers it): it may still be mined, so nothing may be sent in its place with another nonce;
 * - `dropped`: the node does not know it and its nonce is free (or it was never sent): safe to send again.
 */
export type SendState = "mined" | "pending" | "dropped";

/** What a journal knows of a send: the account, and the nonce, hash or pending count before it when known. */
export interface SendIntent {
  /** Checksummed sending account. */
  readonly source: string;
  /** The nonce it was sent with. */
  readonly nonce?: number;
  readonly transactionHash?: string;
  /** More hashes sent at the same nonce (replacements with higher fees): any of them may be the one mined. */
  readonly transactionHashes?: readonly string[];
  /** The account's pending transaction count before the send, when its own nonce is not known. */
  readonly nonceFloor?: number;
}

/** How long {@link awaitSettled} waits for a pending transaction, and how often it asks. */
export interface SettleWait {
  readonly timeoutMs: number;
  readonly pollMs?: number;
}

/** Where a send stands now (see {@link SendState}); the node's answers only, nothing is sent. */
export async function sendStateOf(provider: Provider, intent: SendIntent): Promise<SendState> {
  const hashes = [
    ...(intent.transactionHash !== undefined ? [intent.transactionHash] : []),
    ...(intent.transactionHashes ?? []),
  ];
  const known = await Promise.all([...new Set(hashes)].map((hash) => provider.getTransaction(hash)));
  // one of them mined: that one is the transaction (the others shared its nonce and are dropped)
  if (known.some((tx) => tx !== null && tx.blockNumber !== null)) return "mined";
  if (known.some((tx) => tx !== null)) return "pending";
  // unknown by hash (dropped, or a node behind a balancer that never saw it): its nonce decides
  const [mined, pending] = await Promise.all([
    provider.getTransactionCount(intent.source, "latest"),
    provider.getTransactionCount(intent.source, "pending"),
  ]);
  if (intent.nonce !== undefined) {
    if (mined > intent.nonce) return "mined";
    return pending > intent.nonce ? "pending" : "dropped";
  }
  const floor = intent.nonceFloor ?? mined;
  // a transaction of the account from the floor on waits in the mempool: it may be this one
  if (pending > Math.max(mined, floor)) return "pending";
  return mined > floor ? "mined" : "dropped";
}

/**
 * {@link sendStateOf}, waiting while the transaction is pending, up to `timeoutMs` (blocks come, or the node drops it).
 * Still `pending` when the time is up: the caller keeps its journal and asks again later, never sending a second
 * transaction with another nonce.
 */
export async function awaitSettled(provider: Provider, intent: SendIntent, wait: SettleWait): Promise<SendState> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const state = await sendStateOf(provider, intent);
    const left = deadline - Date.now();
    if (state !== "pending" || left <= 0) return state;
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait.pollMs ?? 250, left)));
  }
}
