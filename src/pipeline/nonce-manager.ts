import { getAddress, type ContractTransactionResponse, type Signer, type TransactionResponse } from "ethers";
import { KeyedQueue } from "./twin-queue";

/** Submits one transaction with the nonce it is given. */
export type NoncedSubmit = (nonce: number) => Promise<ContractTransactionResponse>;

/**
 * Nonces of the accounts the pipeline sends from (custodian, sources, devices), shared by every twin's writes so
 * that ingests of different twins can run in parallel from one account.
 *
 * Per account, submissions are serialized (nonce chosen, transaction submitted, next one), not the waits for
 * receipts. The nonce is the larger of the node's pending count (`getTransactionCount(address, "pending")`, read at
 * each submission, so transactions the account sent outside the pipeline are counted) and the one after the last
 * this manager submitted (a node behind a load balancer may lag). A failed submission forgets the account's cached
 * nonce: the next one re-syncs from the node alone, and so does the next one after a journaled transaction of the
 * account is found dropped ({@link NonceManager.forget}).
 *
 * A transaction stuck in the mempool keeps its nonce: it is replaced at that nonce (fee-bump.ts), never sent again
 * with a new one, so the nonces handed out after it stay behind it in the node's queue and are mined once it is.
 *
 * @dev ethers' own `NonceManager` increments before sending and never rolls back, so one refused transaction leaves
 * a gap that stalls every later one; this one cannot leave a gap it knows of.
 */
export class NonceManager {
  readonly #queue = new KeyedQueue();
  /** Account → the nonce after the last one submitted. */
  readonly #next = new Map<string, number>();
  /** Account → submissions queued or in flight (for least-busy choices). */
  readonly #inFlight = new Map<string, number>();
  /** Account → the signer it last submitted with: a stuck transaction is replaced with it (fee-bump.ts). */
  readonly #signers = new Map<string, Signer>();

  /** Submit one transaction from `signer` with the next nonce; resolves once it is submitted (not mined). */
  async submit<T extends TransactionResponse = ContractTransactionResponse>(
    signer: Signer,
    submit: (nonce: number) => Promise<T>,
  ): Promise<T> {
    const account = getAddress(await signer.getAddress());
    this.#signers.set(account, signer);
    this.#inFlight.set(account, (this.#inFlight.get(account) ?? 0) + 1);
    try {
      return await this.#queue.run(account, async () => {
        const pending = await signer.getNonce("pending");
        const nonce = Math.max(pending, this.#next.get(account) ?? 0);
        try {
          const response = await submit(nonce);
          this.#next.set(account, nonce + 1);
          return response;
        } catch (error) {
          this.#next.delete(account); // re-sync from the node on the next submission
          throw error;
        }
      });
    } finally {
      const left = (this.#inFlight.get(account) ?? 1) - 1;
      if (left === 0) this.#inFlight.delete(account);
      else this.#inFlight.set(account, left);
    }
  }

  /** The signer an account last submitted with through this manager, if any. */
  signerOf(account: string): Signer | undefined {
    return this.#signers.get(getAddress(account));
  }

  /**
   * Forget the account's next nonce: a journaled transaction of it was found dropped, so its nonce is free again and
   * the next submission takes the node's pending count (that nonce when nothing came after it) rather than going past
   * it. Going past it would leave a gap, and the dropped transaction, if another node still held it, could then be
   * mined at its nonce beside the one sent afresh at the next: a doubled anchor.
   */
  forget(account: string): void {
    this.#next.delete(getAddress(account));
  }

  /** Submissions queued or in flight for an account (checksummed address). */
  busy(account: string): number {
    return this.#inFlight.get(getAddress(account)) ?? 0;
  }
}
