import { getAddress, isAddress, type Signer, type TransactionReceipt } from "ethers";
import { batchOutcome, journalBatches, settleBatches, type FoundBatch, type StoredBatch } from "./batch-recovery";
import { encodeBatch } from "./blob-codec";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { FlushSummary, PendingBatch, PendingBatches, VersionOutcome } from "./pipeline-types";
import { batchPlaintextBytes, planBatches, prepareBatch, type PreparedBatch } from "./reading-batcher";
import { journaledSlot, resolvePending } from "./recovery";
import { journalSubmitted, settleJournaled, type Resend } from "./journal";
import { sendWithNonces } from "./transactions";
import { batchSummary, WEARABLE, type TwinSlot } from "./twin-slot";

/**
 * Batch, store and anchor a twin's pending readings (one `anchorBatch` per batch, from the device signer), then
 * apply and commit the new version. Null if nothing is pending. The batches are journaled before any is sent (see
 * batch-recovery.ts): a batch whose receipt is lost is looked up on chain, not sent again; readings of batches that
 * did not get anchored go back to pending in a fresh intake.
 */
export async function flushTwin(
  ctx: PipelineContext,
  twinId: string,
  deviceSigner: Signer | undefined,
): Promise<FlushSummary | null> {
  // an earlier flush's batches whose outcome is unknown are resolved first (also when called from `flushDue`)
  const journaled = journaledSlot(ctx, twinId);
  if (journaled !== undefined) await resolvePending(ctx, journaled);
  const slot = ctx.readable(twinId);
  if (ctx.batcher.pending(twinId).readings.length === 0) return null;
  const { signer, source } = await signerOfPending(ctx, twinId, [
    deviceSigner,
    slot.deviceSigner,
    ctx.options.deviceSigner,
  ]);
  await ctx.preflight(twinId, source, WEARABLE);

  const taken = ctx.batcher.take(twinId);
  const receivedAt = slot.index.intakes[0]?.receivedAt ?? ctx.clock();
  // every pending reading is batched (`planBatches` holds nothing back: its `waiting` is always empty)
  const chunks = planBatches(taken, ctx.batcher.policy).batches.map((readings) => prepareBatch(twinId, readings));
  let pending: PendingBatches;
  try {
    pending = await storeAndJournal(ctx, slot, source, chunks);
  } catch (error) {
    ctx.batcher.add(twinId, taken, receivedAt);
    throw error;
  }

  const batches = [...pending.batches];
  let crashed: { error: unknown } | undefined;
  const log = ctx.options.updateLog.connect(signer);
  const sent = await sendWithNonces(
    signer,
    chunks.map((chunk) => (nonce: number) => log.anchorBatch(twinId, chunk.merkleRoot, { nonce })),
    ctx.nonces,
    {
      beforeSubmit: async (i, nonce) => {
        batches[i].nonce = nonce;
        await ctx.folder.save(slot.index); // the journal (first time) and the nonce, before the transaction leaves
        if (i === 0) await crashHook(ctx, pending, (error) => (crashed = { error }));
      },
      submitted: (i, response) => journalSubmitted(batches[i], response),
      // bounded: a batch still pending after the wait is replaced at its nonce with higher fees (fee-bump.ts)
      settle: async (i) => {
        const batch = batches[i] as PendingBatch & { nonce: number };
        const resend: Resend = (s, nonce, fees) =>
          log.connect(s).anchorBatch(twinId, chunks[i].merkleRoot, { nonce, ...fees });
        const settled = await settleJournaled(ctx, slot, source, batch, resend);
        if (settled.state === "pending") return "pending";
        return settled.receipt;
      },
    },
  );
  if (crashed) throw crashed.error; // the test hook's "crash": left as a killed process leaves it
  const { outcomes, open } = await outcomesOf(ctx, slot, pending, batches, sent.receipts, sent.pending);
  const settled = await settleBatches(ctx, slot, pending, outcomes, new Map(batches.map((b, i) => [b.key, chunks[i]])));
  if (sent.failure) {
    const what = `anchoring the reading batches of twin ${twinId}`;
    throw new PipelineError(
      "ANCHOR_FAILED",
      `${what} failed: ${settled.entries.length} of ${chunks.length} batches are anchored, ${settled.swept} back to ` +
        `pending, ${open} journaled (resolved at the next write)`,
      { cause: sent.failure.cause },
    );
  }
  const { entries } = settled;
  return {
    ...(settled.outcome as VersionOutcome),
    twinId,
    batches: entries.map(batchSummary),
    readings: entries.reduce((sum, entry) => sum + entry.count, 0),
    anchorGasUsed: sent.receipts.reduce((gas, receipt) => gas + receipt.gasUsed, 0n),
  };
}

/**
 * Each batch's outcome: its receipt when the send gave one, else what the chain says (see `batchOutcome`). Batches
 * still pending, or whose outcome the chain could not tell, are left out (they stay journaled).
 */
async function outcomesOf(
  ctx: PipelineContext,
  slot: TwinSlot,
  pending: PendingBatches,
  batches: readonly PendingBatch[],
  receipts: readonly TransactionReceipt[],
  stillPending: ReadonlySet<number>,
): Promise<{ outcomes: Map<PendingBatch, FoundBatch | null>; open: number }> {
  const outcomes = new Map<PendingBatch, FoundBatch | null>();
  let open = 0;
  for (const [i, batch] of batches.entries()) {
    const receipt = receipts[i];
    if (receipt !== undefined || batch.nonce === undefined) {
      // mined with its receipt, or never submitted (the sends stopped before it)
      outcomes.set(batch, receipt ? { blockNumber: receipt.blockNumber, transactionHash: receipt.hash } : null);
      continue;
    }
    let outcome: FoundBatch | null | "pending";
    if (stillPending.has(i)) {
      open += 1; // waited for (and replaced) already: it stays journaled
      continue;
    }
    try {
      outcome = await batchOutcome(ctx, slot, pending, batch);
    } catch {
      outcome = "pending"; // the chain does not answer: the batch stays journaled
    }
    if (outcome === "pending") open += 1;
    else outcomes.set(batch, outcome);
  }
  return { outcomes, open };
}

/** Run the `beforeBatchAnchor` test hook; what it throws is reported, then stops the sends. */
async function crashHook(ctx: PipelineContext, pending: PendingBatches, report: (error: unknown) => void) {
  try {
    await ctx.options.beforeBatchAnchor?.(pending);
  } catch (error) {
    report(error);
    throw error;
  }
}

/** Store the batches and journal them; on failure, what was stored is discarded and nothing is journaled. */
async function storeAndJournal(
  ctx: PipelineContext,
  slot: TwinSlot,
  source: string,
  chunks: readonly PreparedBatch[],
): Promise<PendingBatches> {
  const stored = await storeBatches(ctx, slot, chunks);
  slot.index.nextBatch += stored.length;
  try {
    return await journalBatches(ctx, slot, source, chunks, stored);
  } catch (error) {
    await ctx.discard(
      slot.index.twinId,
      stored.map((s) => s.cid),
    );
    throw error;
  }
}

/** Seal and store each batch for the twin's wearable readers; on failure, what was stored is discarded. */
async function storeBatches(
  ctx: PipelineContext,
  slot: TwinSlot,
  chunks: readonly PreparedBatch[],
): Promise<StoredBatch[]> {
  const twinId = slot.index.twinId;
  const batchBytes = batchPlaintextBytes(ctx.batcher.policy);
  const patient = await ctx.options.patientPublicKey(twinId);
  const readers = ctx.readersFor(slot, WEARABLE, patient);
  const stored: StoredBatch[] = [];
  try {
    for (const chunk of chunks) {
      const key = `wearable-batch/${slot.index.nextBatch + stored.length}`;
      const put = await ctx.options.vault.put(
        encodeBatch(chunk.readings, batchBytes),
        { twinId, recordKey: key, category: WEARABLE },
        readers,
      );
      stored.push({ key, cid: put.cid, contentHash: put.contentHash });
    }
  } catch (error) {
    await ctx.discard(
      twinId,
      stored.map((s) => s.cid),
    );
    throw error;
  }
  return stored;
}

/**
 * The signer that anchors the twin's pending readings: the first candidate whose address is the device the readings
 * came from (their `source`; readings that name no device address take the first candidate). A batch is never
 * anchored by another device than the one that made its readings: with no such signer, a typed refusal and nothing
 * taken.
 */
async function signerOfPending(
  ctx: PipelineContext,
  twinId: string,
  candidates: readonly (Signer | undefined)[],
): Promise<{ signer: Signer; source: string }> {
  const signers = candidates.filter((c): c is Signer => c !== undefined);
  if (signers.length === 0) {
    throw new PipelineError("NO_DEVICE_SIGNER", `no device signer to anchor the pending readings of twin ${twinId}`);
  }
  const addresses = await Promise.all(signers.map(async (s) => getAddress(await s.getAddress())));
  const [device] = pendingDevices(ctx, twinId);
  const i = device === undefined ? 0 : addresses.indexOf(device);
  if (i < 0) {
    throw new PipelineError(
      "NO_DEVICE_SIGNER",
      `the pending readings of twin ${twinId} came from device ${device}: only its signer anchors them`,
    );
  }
  return { signer: signers[i], source: addresses[i] };
}

/**
 * The devices (checksummed addresses, in the order their readings are pending) of the twin's pending readings: one
 * at most, since a device's arrival flushes another's (wearable-ingest.ts). Readings stored before readings carried
 * their device's address (a `Device/x` reference or nothing) name no device.
 */
export function pendingDevices(ctx: PipelineContext, twinId: string): Set<string> {
  const devices = new Set<string>();
  for (const { source } of ctx.batcher.pending(twinId).readings) {
    if (source !== undefined && isAddress(source)) devices.add(getAddress(source));
  }
  return devices;
}
