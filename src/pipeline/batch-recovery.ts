import type { VitalReading } from "../fhir/records";
import { encodeIntake } from "./blob-codec";
import { openBatch } from "./blob-reads";
import type { PipelineContext } from "./pipeline-context";
import type { PendingBatch, PendingBatches, VersionOutcome } from "./pipeline-types";
import type { PreparedBatch } from "./reading-batcher";
import { settleJournal, settleJournaled, type Resend } from "./journal";
import { applyAndCommit } from "./state-commit";
import type { BatchEntry } from "./twin-index";
import { WEARABLE, type TwinSlot } from "./twin-slot";

/**
 * The journal of a flush's reading batches (see recovery.ts for the discipline, shared with record batches).
 *
 * A flush stores its batch blobs, then journals a {@link PendingBatches} (each batch's key, CID, content hash, root,
 * count and time range; the intakes whose readings they hold, taken out of the twin's pending intakes); the index is
 * saved with each batch's nonce before its transaction is sent. A batch is then
 * resolved, by its receipt or later by the chain:
 * - anchored: it becomes a {@link BatchEntry} and its readings are applied (one new version for all batches resolved
 *   together);
 * - not anchored (never sent, or its transaction neither mined nor pending and no `BatchAnchored` for its root): its
 *   readings go back to pending (a fresh intake) and its blob is swept;
 * - still pending in the mempool after the bounded wait and its replacements at the same nonce with higher fees
 *   (journal.ts `settleJournaled`: each replacement's fees saved before it leaves, its hash after), or the chain
 *   unreadable: it stays journaled.
 * Once no batch is left, the entry is dropped and the intakes' blobs removed.
 */

/** Where an anchored batch's transaction is. */
export interface FoundBatch {
  readonly blockNumber: number;
  readonly transactionHash: string;
}

/** A batch stored in the vault, with its key. */
export interface StoredBatch {
  readonly key: string;
  readonly cid: string;
  readonly contentHash: string;
}

/**
 * Journal a flush's stored batches: its intakes move into the entry, in memory; the caller saves the index before the
 * first `anchorBatch` leaves, with that batch's nonce (one save for both). Throws when the chain cannot be read: then
 * nothing is journaled and the caller sweeps the blobs.
 *
 * @dev A process killed after the blobs are stored and before that save leaves them orphaned (encrypted, unindexed,
 * never anchored) and its readings pending in their intakes: garbage, never a loss nor a double anchor. Saving the
 * journal apart from the nonce would close that window for one more sealed index write per flush (about 10 ms with
 * fsync on this machine, against a flush of about 70 ms).
 */
export async function journalBatches(
  ctx: PipelineContext,
  slot: TwinSlot,
  source: string,
  chunks: readonly PreparedBatch[],
  stored: readonly StoredBatch[],
): Promise<PendingBatches> {
  const provider = ctx.options.updateLog.runner?.provider;
  const fromBlock = provider ? await provider.getBlockNumber() : 0;
  const intakes = slot.index.intakes;
  const pending: PendingBatches = {
    kind: "batches",
    source,
    fromBlock,
    intakes,
    batches: stored.map((s, i) => ({
      key: s.key,
      cid: s.cid,
      contentHash: s.contentHash,
      merkleRoot: chunks[i].merkleRoot,
      count: chunks[i].count,
      from: chunks[i].from,
      to: chunks[i].to,
    })),
  };
  slot.index.intakes = [];
  (slot.index.pendingAnchors ??= []).push(pending);
  slot.openedIntakes.clear();
  return pending;
}

/**
 * What the chain says of one journaled batch: its anchor, null when it is not anchored (never sent, or its transaction
 * settled without its event), or "pending" when its transaction is still in the mempool after the bounded wait.
 * Throws when the chain cannot be read.
 */
export async function batchOutcome(
  ctx: PipelineContext,
  slot: TwinSlot,
  pending: PendingBatches,
  batch: PendingBatch,
): Promise<FoundBatch | null | "pending"> {
  const twinId = slot.index.twinId;
  const provider = ctx.options.updateLog.runner?.provider;
  // no nonce: it never left (its nonce is saved before it is sent); its event is still looked for, at no risk
  if (provider && batch.nonce !== undefined) {
    const resend: Resend = (signer, nonce, fees) =>
      ctx.options.updateLog.connect(signer).anchorBatch(twinId, batch.merkleRoot, { nonce, ...fees });
    const sent = batch as PendingBatch & { nonce: number }; // the entry itself: its replacements are journaled in it
    const settled = await settleJournaled(ctx, slot, pending.source, sent, resend);
    if (settled.state === "pending") return "pending";
    if (settled.state === "dropped") ctx.nonces.forget(pending.source);
  }
  const log = ctx.options.updateLog;
  const events = await log.queryFilter(
    log.filters.BatchAnchored(twinId, pending.source, batch.merkleRoot),
    pending.fromBlock,
  );
  const event = events[0];
  return event === undefined ? null : { blockNumber: event.blockNumber, transactionHash: event.transactionHash };
}

/** What settling a flush's batches did. */
export interface SettledBatches {
  /** The batches anchored, indexed in this call. */
  readonly entries: readonly BatchEntry[];
  /** Their readings' new version, or null when none was anchored. */
  readonly outcome: VersionOutcome | null;
  /** Batches not anchored: their readings are pending again. */
  readonly swept: number;
}

/**
 * Apply the outcomes of some batches of a journaled flush: anchored ones indexed and applied, the others' readings
 * back to pending and their blobs swept; the entry dropped (and its intakes' blobs removed) once no batch is left.
 * `prepared` holds the batches the caller still has in memory (by key); the others are read from their blobs.
 */
export async function settleBatches(
  ctx: PipelineContext,
  slot: TwinSlot,
  pending: PendingBatches,
  outcomes: ReadonlyMap<PendingBatch, FoundBatch | null>,
  prepared: ReadonlyMap<string, PreparedBatch> = new Map(),
): Promise<SettledBatches> {
  const entries: BatchEntry[] = [];
  const applied: VitalReading[] = [];
  const back: VitalReading[] = [];
  const sweep: string[] = [];
  for (const [batch, found] of outcomes) {
    const entry: BatchEntry = {
      key: batch.key,
      cid: batch.cid,
      contentHash: batch.contentHash,
      merkleRoot: batch.merkleRoot,
      count: batch.count,
      from: batch.from,
      to: batch.to,
      blockNumber: found?.blockNumber ?? 0,
      transactionHash: found?.transactionHash ?? "",
      source: pending.source,
    };
    const chunk = prepared.get(batch.key);
    const readings = (chunk?.readings ?? (await openBatch(ctx, slot, entry))).map((salted) => salted.reading);
    if (found) {
      entries.push(entry);
      applied.push(...readings);
      if (chunk !== undefined) slot.trees.set(entry.key, chunk.tree);
    } else {
      back.push(...readings);
      sweep.push(batch.cid);
    }
    pending.batches.splice(pending.batches.indexOf(batch), 1);
  }
  // a twin whose only content was this journal is not held after a restart that could not resolve it: held again
  ctx.twins.set(slot.index.twinId, slot);
  if (back.length > 0) await keepPending(ctx, slot, back);
  const done = pending.batches.length === 0;
  if (done) settleJournal(ctx, slot, pending);
  for (const entry of entries) {
    slot.index.batches.push(entry);
    slot.batchByKey.set(entry.key, entry);
  }
  let outcome: VersionOutcome | null = null;
  if (entries.length > 0) {
    outcome = await applyAndCommit(ctx, slot, slot.engine?.current, {
      records: [],
      readings: applied,
      sourceHashes: entries.map((entry) => entry.contentHash),
      recordEntries: [],
      batchKeys: entries.map((entry) => entry.key),
    });
  } else {
    await ctx.folder.save(slot.index);
  }
  const twinId = slot.index.twinId;
  await ctx.discard(twinId, sweep);
  if (done) {
    await ctx.discard(
      twinId,
      pending.intakes.map((intake) => intake.cid),
    );
  }
  return { entries, outcome, swept: sweep.length };
}

/** Resolve a journaled flush against the chain (on restart, or at the twin's next write). Throws if unreadable. */
export async function resolveBatches(
  ctx: PipelineContext,
  slot: TwinSlot,
  pending: PendingBatches,
): Promise<{ finished: number; swept: number; open: number }> {
  const outcomes = new Map<PendingBatch, FoundBatch | null>();
  let open = 0;
  for (const batch of pending.batches) {
    const outcome = await batchOutcome(ctx, slot, pending, batch);
    if (outcome === "pending") open += 1;
    else outcomes.set(batch, outcome);
  }
  if (outcomes.size === 0) return { finished: 0, swept: 0, open };
  const settled = await settleBatches(ctx, slot, pending, outcomes);
  return { finished: settled.entries.length, swept: settled.swept, open };
}

/** Readings going back to pending: a fresh intake blob sealed for the custodian, and the batcher. */
export async function keepPending(
  ctx: PipelineContext,
  slot: TwinSlot,
  readings: readonly VitalReading[],
): Promise<void> {
  const twinId = slot.index.twinId;
  const key = `wearable-intake/${slot.index.nextIntake}`;
  const put = await ctx.options.vault.put(encodeIntake(readings), { twinId, recordKey: key, category: WEARABLE }, [
    ctx.custodianPublicKey,
  ]);
  slot.index.nextIntake += 1;
  slot.index.intakes.push({ key, cid: put.cid, count: readings.length, receivedAt: ctx.clock() });
  ctx.batcher.add(twinId, [...readings], ctx.clock());
}
