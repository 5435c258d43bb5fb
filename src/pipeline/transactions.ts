import type { ContractTransactionReceipt, ContractTransactionResponse, Signer } from "ethers";
import { PipelineError } from "./errors";
import { NonceManager, type NoncedSubmit } from "./nonce-manager";

/** Sends one transaction with the nonce it is given. */
export type NoncedSend = NoncedSubmit;

/** What `sendWithNonces` got through: the receipts of the mined transactions, in order, and the first failure. */
export interface SentTransactions {
  readonly receipts: readonly ContractTransactionReceipt[];
  /** Set when a transaction could not be sent or reverted; `receipts` holds those before it. */
  readonly failure?: { readonly index: number; readonly cause: unknown };
}

/**
 * Send transactions from one signer with explicit nonces from `nonces` (the pipeline's manager: consecutive for this
 * account, other twins' transactions of the same account may come in between), submitting them one after the other
 * without waiting for each to be mined, then wait for every receipt. A failed submission stops the submitting; the receipts of the transactions before
 * the first failure are returned with it, so the caller records exactly what is anchored.
 *
 * @dev Submitting in order keeps the nonces gap-free on every node; waiting in parallel lets a
 * network with real blocks mine many of them per block.
 */
export async function sendWithNonces(
  signer: Signer,
  sends: readonly NoncedSend[],
  nonces: NonceManager = new NonceManager(),
): Promise<SentTransactions> {
  if (sends.length === 0) return { receipts: [] };
  const responses: ContractTransactionResponse[] = [];
  let failure: { index: number; cause: unknown } | undefined;
  for (const [index, send] of sends.entries()) {
    try {
      responses.push(await nonces.submit(signer, send));
    } catch (cause) {
      failure = { index, cause };
      break;
    }
  }
  const settled = await Promise.allSettled(responses.map((response) => response.wait()));
  const receipts: ContractTransactionReceipt[] = [];
  for (const [index, outcome] of settled.entries()) {
    if (outcome.status === "fulfilled" && outcome.value !== null && outcome.value.status === 1) {
      receipts.push(outcome.value);
      continue;
    }
    failure = { index, cause: outcome.status === "rejected" ? outcome.reason : new Error("no receipt") };
    break;
  }
  return failure === undefined ? { receipts } : { receipts, failure };
}

/** Throw `ANCHOR_FAILED` for a failure reported by {@link sendWithNonces}. */
export function anchorFailed(what: string, failure: { index: number; cause: unknown }, total: number): PipelineError {
  return new PipelineError(
    "ANCHOR_FAILED",
    `${what}: transaction ${failure.index + 1} of ${total} failed; the ${failure.index} before it are anchored`,
    { cause: failure.cause },
  );
}
