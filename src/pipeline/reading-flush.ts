import { getAddress, type Signer } from "ethers";
import type { VitalReading } from "../fhir/records";
import { encodeBatch, encodeIntake } from "./blob-codec";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { FlushSummary, VersionOutcome } from "./pipeline-types";
import { batchPlaintextBytes, planBatches, prepareBatch, type PreparedBatch } from "./reading-batcher";
import { applyAndCommit } from "./state-commit";
import { anchorFailed, sendWithNonces } from "./transactions";
import type { BatchEntry } from "./twin-index";
import { batchSummary, WEARABLE, type TwinSlot } from "./twin-slot";

/** A batch blob stored, about to be anchored. */
interface StoredBatch {
  readonly key: string;
  readonly cid: string;
  readonly contentHash: string;
}

/**
 * Batch, store and anchor a twin's pending readings (one `anchorBatch` per batch, from the device signer), then
 * apply and commit the new version. Null if nothing is pending. Readings of batches that did not get anchored, and
 * those the cadence keeps for the next period, go back to pending in a fresh intake.
 */
export async function flushTwin(
  ctx: PipelineContext,
  twinId: string,
  deviceSigner: Signer | undefined,
): Promise<FlushSummary | null> {
  const slot = ctx.readable(twinId);
  if (ctx.batcher.pending(twinId).readings.length === 0) return null;
  const signer = deviceSigner ?? slot.deviceSigner ?? ctx.options.deviceSigner;
  if (signer === undefined) {
    throw new PipelineError("NO_DEVICE_SIGNER", `no device signer to anchor the pending readings of twin ${twinId}`);
  }
  const source = getAddress(await signer.getAddress());
  await ctx.preflight(twinId, source, WEARABLE);

  const pending = ctx.batcher.take(twinId);
  const intakes = slot.index.intakes;
  const plan = planBatches(pending, ctx.batcher.policy);
  const chunks = plan.batches.map((readings) => prepareBatch(twinId, readings));
  let stored: StoredBatch[];
  try {
    stored = await storeBatches(ctx, slot, chunks);
  } catch (error) {
    ctx.batcher.add(twinId, pending, intakes[0]?.receivedAt ?? ctx.clock());
    throw error;
  }
  slot.index.nextBatch += stored.length;

  const log = ctx.options.updateLog.connect(signer);
  const sent = await sendWithNonces(
    signer,
    chunks.map((chunk) => (nonce: number) => log.anchorBatch(twinId, chunk.merkleRoot, { nonce })),
    ctx.nonces,
  );
  const entries: BatchEntry[] = sent.receipts.map((receipt, i) => ({
    key: stored[i].key,
    cid: stored[i].cid,
    contentHash: stored[i].contentHash,
    merkleRoot: chunks[i].merkleRoot,
    count: chunks[i].count,
    from: chunks[i].from,
    to: chunks[i].to,
    blockNumber: receipt.blockNumber,
    transactionHash: receipt.hash,
    source,
  }));
  for (const [i, entry] of entries.entries()) {
    slot.index.batches.push(entry);
    slot.batchByKey.set(entry.key, entry);
    slot.trees.set(entry.key, chunks[i].tree);
  }
  const unanchored = [
    ...chunks.slice(entries.length).flatMap((chunk) => chunk.readings.map((r) => r.reading)),
    ...plan.waiting,
  ];
  slot.index.intakes = [];
  slot.openedIntakes.clear();
  if (unanchored.length > 0) {
    await keepPending(ctx, slot, unanchored);
    await ctx.discard(
      twinId,
      stored.slice(entries.length).map((s) => s.cid),
    );
  }
  let outcome: VersionOutcome | null = null;
  if (entries.length > 0) {
    outcome = await applyAndCommit(ctx, slot, slot.engine?.current, {
      records: [],
      readings: chunks.slice(0, entries.length).flatMap((chunk) => chunk.readings.map((r) => r.reading)),
      sourceHashes: entries.map((entry) => entry.contentHash),
      recordEntries: [],
      batchKeys: entries.map((entry) => entry.key),
    });
  } else {
    await ctx.folder.save(slot.index);
  }
  await ctx.discard(
    twinId,
    intakes.map((intake) => intake.cid),
  );
  if (sent.failure) throw anchorFailed(`anchoring the reading batches of twin ${twinId}`, sent.failure, chunks.length);
  return {
    ...(outcome as VersionOutcome),
    twinId,
    batches: entries.map(batchSummary),
    readings: entries.reduce((sum, entry) => sum + entry.count, 0),
    anchorGasUsed: sent.receipts.reduce((gas, receipt) => gas + receipt.gasUsed, 0n),
  };
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

/** Readings going back to pending: a fresh intake blob sealed for the custodian, and the batcher. */
async function keepPending(ctx: PipelineContext, slot: TwinSlot, readings: readonly VitalReading[]): Promise<void> {
  const twinId = slot.index.twinId;
  const key = `wearable-intake/${slot.index.nextIntake}`;
  const put = await ctx.options.vault.put(encodeIntake(readings), { twinId, recordKey: key, category: WEARABLE }, [
    ctx.custodianPublicKey,
  ]);
  slot.index.nextIntake += 1;
  slot.index.intakes.push({ key, cid: put.cid, count: readings.length, receivedAt: ctx.clock() });
  ctx.batcher.add(twinId, [...readings], ctx.clock());
}
