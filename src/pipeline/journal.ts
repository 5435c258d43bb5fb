import { getAddress, type ContractTransactionResponse, type Signer } from "ethers";
import { PipelineError } from "./errors";
import { FEE_BUMP_DEFAULTS, settleReplacing, type FeeBumpPolicy, type Settlement } from "./fee-bump";
import type { PipelineContext } from "./pipeline-context";
import type { JournaledFees, JournaledSend, PendingAnchor, PendingBatches } from "./pipeline-types";
import type { Fees } from "./transactions";
import type { TwinSlot } from "./twin-slot";

/** The journal entries of a twin's index shared by recovery.ts and batch-recovery.ts. */

/** Drop a journal entry once its anchor is resolved (saved with the next index save). */
export function settleJournal(ctx: PipelineContext, slot: TwinSlot, pending: PendingAnchor | PendingBatches): void {
  const list = slot.index.pendingAnchors ?? [];
  const at = list.indexOf(pending);
  if (at >= 0) list.splice(at, 1);
  if (list.length > 0) return;
  delete slot.index.pendingAnchors;
  ctx.journaled.delete(slot.index.twinId);
}

/** The bound of the wait for a pending transaction (see `TwinPipelineOptions.anchorWaitMs`, default 30 s). */
export function anchorWait(ctx: PipelineContext): { timeoutMs: number } {
  return { timeoutMs: ctx.options.anchorWaitMs ?? 30_000 };
}

/** A fee-bump policy (`TwinPipelineOptions.feeBump`), checked: `INVALID_OPTIONS` when malformed. */
export function checkedFeeBump(policy: FeeBumpPolicy = {}): FeeBumpPolicy {
  const { maxReplacements = FEE_BUMP_DEFAULTS.maxReplacements, bumpPercent = FEE_BUMP_DEFAULTS.bumpPercent } = policy;
  if (!Number.isInteger(maxReplacements) || maxReplacements < 0) {
    throw new PipelineError("INVALID_OPTIONS", `feeBump.maxReplacements must be a whole number ≥ 0`);
  }
  if (!Number.isFinite(bumpPercent) || bumpPercent < 10 || bumpPercent > 1000) {
    throw new PipelineError("INVALID_OPTIONS", `feeBump.bumpPercent must be between 10 and 1000 (nodes refuse less)`);
  }
  if (policy.maxFeePerGas !== undefined && policy.maxFeePerGas <= 0n) {
    throw new PipelineError("INVALID_OPTIONS", `feeBump.maxFeePerGas must be positive`);
  }
  return policy;
}

/** Fees as the journal keeps them (decimal strings), and back. */
export function journaledFees(fees: Fees): JournaledFees {
  return {
    ...(fees.maxFeePerGas != null ? { maxFeePerGas: fees.maxFeePerGas.toString() } : {}),
    ...(fees.maxPriorityFeePerGas != null ? { maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() } : {}),
    ...(fees.maxFeePerGas == null && fees.gasPrice != null ? { gasPrice: fees.gasPrice.toString() } : {}),
  };
}

function feesOf(fees: JournaledFees | undefined): Fees | undefined {
  if (fees === undefined) return undefined;
  return {
    ...(fees.maxFeePerGas !== undefined ? { maxFeePerGas: BigInt(fees.maxFeePerGas) } : {}),
    ...(fees.maxPriorityFeePerGas !== undefined ? { maxPriorityFeePerGas: BigInt(fees.maxPriorityFeePerGas) } : {}),
    ...(fees.gasPrice !== undefined ? { gasPrice: BigInt(fees.gasPrice) } : {}),
  };
}

/** Record a send the node took: its hash and fees (saved with the next index save). */
export function journalSubmitted(entry: JournaledSend, response: ContractTransactionResponse): void {
  entry.transactionHash = response.hash;
  entry.fees = journaledFees({
    maxFeePerGas: response.maxFeePerGas ?? undefined,
    maxPriorityFeePerGas: response.maxPriorityFeePerGas ?? undefined,
    gasPrice: response.gasPrice,
  });
}

/** Every hash journaled for an anchor's nonce: the first send's, then its replacements'. */
export function journaledHashes(entry: JournaledSend): string[] {
  const hashes = entry.transactionHash !== undefined ? [entry.transactionHash] : [];
  for (const replacement of entry.replacements ?? []) if (replacement.hash !== undefined) hashes.push(replacement.hash);
  return hashes;
}

/** Sends an anchor's call again at its nonce with the fees given (a replacement). */
export type Resend = (signer: Signer, nonce: number, fees: Fees) => Promise<ContractTransactionResponse>;

/**
 * Wait for a journaled anchor's transaction at its nonce, replacing it with higher fees while it stays pending (see
 * fee-bump.ts `settleReplacing`, `TwinPipelineOptions.feeBump`). Each replacement's fees are journaled and the index
 * saved before it leaves, its hash saved once the node took it; so after a crash, recovery looks for every send at
 * that nonce (the nonce itself and the anchor event decide, whichever hash was mined). Replacing needs a signer of
 * `source` (see {@link signerFor}); without one it is only waited for.
 */
export async function settleJournaled(
  ctx: PipelineContext,
  slot: TwinSlot,
  source: string,
  entry: JournaledSend & { nonce: number },
  resend: Resend,
): Promise<Settlement> {
  const provider = ctx.options.updateLog.runner?.provider;
  if (!provider) throw new PipelineError("ANCHOR_FAILED", "the update log has no provider to follow its anchors");
  const signer = await signerFor(ctx, source);
  const policy = checkedFeeBump(ctx.options.feeBump);
  const replace =
    signer === undefined
      ? undefined
      : async (fees: Fees) => {
          const replacement: { fees: JournaledFees; hash?: string } = { fees: journaledFees(fees) };
          (entry.replacements ??= []).push(replacement);
          await saveInTurn(ctx, slot); // journaled before it leaves
          const response = await resend(signer, entry.nonce, fees);
          replacement.hash = response.hash;
          await saveInTurn(ctx, slot);
        };
  const last = () => entry.replacements?.[entry.replacements.length - 1]?.fees ?? entry.fees;
  return settleReplacing(
    provider,
    {
      source,
      nonce: entry.nonce,
      hashes: () => journaledHashes(entry),
      lastFees: () => feesOf(last()),
      firstFees: () => feesOf(entry.fees),
      replacements: () => entry.replacements?.length ?? 0,
      ...(replace !== undefined ? { replace } : {}),
    },
    anchorWait(ctx),
    policy,
  );
}

/** The last save of each slot's index by a replacement: a flush's batches settle in parallel, their saves in turn. */
const savesInTurn = new WeakMap<TwinSlot, Promise<void>>();

function saveInTurn(ctx: PipelineContext, slot: TwinSlot): Promise<void> {
  const save = (savesInTurn.get(slot) ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => ctx.folder.save(slot.index));
  savesInTurn.set(slot, save);
  return save;
}

/**
 * A signer of `source` to replace its stuck anchors with: the one the pipeline last sent from (its nonce manager), else
 * a configured one (device, custodian accounts) with that address; undefined when none is at hand.
 */
export async function signerFor(ctx: PipelineContext, source: string): Promise<Signer | undefined> {
  const known = ctx.nonces.signerOf(source);
  if (known !== undefined) return known;
  const { deviceSigner, custodianSigner, custodianSigners = [] } = ctx.options;
  const account = getAddress(source);
  for (const candidate of [deviceSigner, custodianSigner, ...custodianSigners]) {
    if (candidate !== undefined && getAddress(await candidate.getAddress()) === account) return candidate;
  }
  return undefined;
}

const stillPendingErrors = new WeakSet<PipelineError>();

/** The error of an anchor still pending after the wait (and its replacements): the journal stays. */
export function stillPending(twinId: string, count: number, exhausted: boolean): PipelineError {
  const why = exhausted ? " (its fee replacements used up or at the fee cap)" : "";
  const error = new PipelineError(
    "ANCHOR_FAILED",
    `${count} anchor(s) of twin ${twinId} still pending in the node's mempool${why}; journaled, resolved at the next write`,
  );
  stillPendingErrors.add(error);
  return error;
}

/** Whether an error is {@link stillPending}'s: the anchor was waited for (and replaced) already. */
export function isStillPending(error: unknown): error is PipelineError {
  return error instanceof PipelineError && stillPendingErrors.has(error);
}
