import { getAddress } from "ethers";
import { recordsAnchorOf } from "../chain/anchors";
import { resolveBatches } from "./batch-recovery";
import { openRecord } from "./blob-reads";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { PendingAnchor, PendingRecord } from "./pipeline-types";
import type { RecordsAnchor } from "./reader";
import { recordTreeOf } from "./record-anchoring";
import { recordBatchOf } from "./record-proofs";
import { commitRecordBatch } from "./state-commit";
import {
  anchorWait,
  isStillPending,
  journalSubmitted,
  settleJournal,
  settleJournaled,
  stillPending,
  type Resend,
} from "./journal";
import { awaitSettled, type AnchorSender, type SendState } from "./transactions";
import type { TwinIndex } from "./twin-index";
import type { TwinSlot } from "./twin-slot";

/**
 * Recovery of anchors whose outcome a crash or a failed RPC left unknown ("nothing lost, nothing doubled").
 *
 * Before an EMR ingest sends its `anchorRecords`, it journals a {@link PendingAnchor} in the twin's sealed index (the
 * root, the source, the source's pending nonce count, the records' keys, CIDs and hashes: no health data); a flush
 * journals its reading batches the same way before any `anchorBatch` (see batch-recovery.ts). The entry is dropped
 * once the anchor is indexed. When the send fails, or the process dies between storing and anchoring, the entry
 * stays; then, at once when the chain answers, else on the next write of the twin (and on `TwinPipeline.open`), the
 * chain is asked, in this order:
 * 1. where the transaction stands (transactions.ts `sendStateOf`): while it may still be pending in the node's
 *    mempool (known by hash without a block, or the source has transactions waiting from the journaled nonce on), it
 *    is waited for, up to `anchorWaitMs`. When its nonce is journaled and it is still pending then (a fee below the
 *    chain's base fee), it is replaced at that nonce by the same call with higher fees and waited for again, a
 *    bounded number of times under a fee cap (fee-bump.ts, `TwinPipelineOptions.feeBump`); every send at the nonce is
 *    journaled and looked for, whichever is mined is the anchor. Still pending after that → the entry stays and the
 *    write fails (`ANCHOR_FAILED`, "still pending"), asked again at the next write. Never a second transaction with
 *    another nonce: the live send waits and replaces the same way (`journaledRecordsSender`, reading-flush.ts).
 * 2. once it is mined or dropped: the anchor event of the twin with that root from the source → the records (or the
 *    batch) are indexed, applied and the version committed (the send went through, only its receipt was lost); none →
 *    their blobs and wrapped keys are swept (a batch's readings go back to pending first), and the next ingest or
 *    flush sends afresh.
 * A retried ingest therefore never anchors twice: after recovery its records are either held (unchanged, nothing
 * sent) or gone (stored and anchored afresh).
 *
 * @dev The state is read before the event, so a transaction mined between the two reads is seen as mined, never as
 * dropped. A dropped transaction is not replaced at its nonce: the next send takes the node's pending count, which is
 * that nonce again when nothing of the account came after it.
 */

export { settleJournal } from "./journal";

/** What resolving a twin's journal did. */
export interface RecoveryOutcome {
  /** Pending anchors found on chain and indexed. */
  readonly finished: number;
  /** Pending anchors not on chain: their blobs and keys removed. */
  readonly swept: number;
}

/** The journal entry of a record batch about to be anchored; saved (sealed, in the index) before the send. */
export async function journalRecords(
  ctx: PipelineContext,
  slot: TwinSlot,
  source: string,
  records: readonly PendingRecord[],
  patientLink: string | undefined,
): Promise<PendingAnchor> {
  const { recordsRoot, categories } = recordsAnchorOf(recordTreeOf(records));
  const provider = ctx.options.updateLog.runner?.provider;
  let fromBlock = 0;
  let nonceFloor: number | undefined;
  try {
    if (provider) {
      [fromBlock, nonceFloor] = await Promise.all([
        provider.getBlockNumber(),
        provider.getTransactionCount(source, "pending"),
      ]);
    }
  } catch (cause) {
    await sweepUnjournaled(ctx, slot, records);
    throw new PipelineError("ANCHOR_FAILED", `the chain did not answer before anchoring twin ${slot.index.twinId}`, {
      cause,
    });
  }
  const pending: PendingAnchor = {
    kind: "records",
    recordsRoot,
    categories: Number(categories),
    source,
    fromBlock,
    ...(nonceFloor !== undefined ? { nonceFloor } : {}),
    ...(patientLink !== undefined ? { patientLink } : {}),
    records: records.map((r) => ({
      key: r.key,
      category: r.category,
      cid: r.cid,
      contentHash: r.contentHash,
      readingCount: r.readingCount,
      ...(r.digest !== undefined ? { digest: r.digest } : {}),
    })),
  };
  (slot.index.pendingAnchors ??= []).push(pending);
  try {
    await ctx.folder.save(slot.index);
  } catch (error) {
    settleJournal(ctx, slot, pending);
    await sweepUnjournaled(ctx, slot, records);
    throw error;
  }
  if (!ctx.twins.has(slot.index.twinId)) ctx.journaled.set(slot.index.twinId, slot);
  return pending;
}

/** Blobs stored but neither journaled nor anchored (the journal could not be written): removed at once. */
async function sweepUnjournaled(
  ctx: PipelineContext,
  slot: TwinSlot,
  records: readonly PendingRecord[],
): Promise<void> {
  await ctx.discard(
    slot.index.twinId,
    records.map((r) => r.cid),
  );
}

/**
 * How an EMR ingest's `anchorRecords` is sent and waited for (record-anchoring.ts `anchorRecordBatch`): its nonce and,
 * once the node took it, its hash and fees go into the journal entry (saved with the next index save: at the latest
 * before a replacement leaves); then it is waited for, bounded, and replaced at its nonce with higher fees while it
 * stays pending (journal.ts `settleJournaled`). Still pending after that: a "still pending" `ANCHOR_FAILED`, the
 * entry journaled.
 *
 * @dev The nonce is not saved before the first send (one more sealed index write per ingest): a crash before the
 * first replacement leaves the journal with the source's pending count only, and recovery then waits for it as
 * before (see `nonceFloor`), without replacing it.
 */
export function journaledRecordsSender(ctx: PipelineContext, slot: TwinSlot, pending: PendingAnchor): AnchorSender {
  return async (signer, send, nonces) => {
    const response = await nonces.submit(signer, (nonce) => {
      pending.nonce = nonce;
      return send(nonce);
    });
    journalSubmitted(pending, response);
    const sent = pending as PendingAnchor & { nonce: number };
    const settled = await settleJournaled(ctx, slot, pending.source, sent, (_, nonce, fees) => send(nonce, fees));
    if (settled.state === "pending") throw stillPending(slot.index.twinId, 1, settled.exhausted);
    if (settled.receipt === null) throw new Error(`the records anchor of twin ${slot.index.twinId} has no receipt`);
    return settled.receipt;
  };
}

/** After a failed send: resolve the journal at once if the chain answers, else leave it for the next write. */
export async function afterFailedAnchor(ctx: PipelineContext, slot: TwinSlot, cause: unknown): Promise<PipelineError> {
  const twinId = slot.index.twinId;
  if (isStillPending(cause)) return cause; // waited for and replaced already: asked again at the next write
  try {
    const outcome = await resolvePending(ctx, slot);
    const what =
      outcome.finished > 0 ? "was anchored after all and is indexed" : "is not anchored; its blobs are swept";
    return new PipelineError("ANCHOR_FAILED", `anchoring the records of twin ${twinId} failed: the batch ${what}`, {
      cause,
    });
  } catch {
    return new PipelineError(
      "ANCHOR_FAILED",
      `anchoring the records of twin ${twinId} failed; the batch is journaled and resolved at the next write or restart`,
      { cause },
    );
  }
}

/**
 * Resolve every journaled anchor of a twin against the chain (see the module comment). A twin that held nothing
 * before and whose entries are all swept is not held afterwards. Throws when the chain cannot be read, or when an
 * anchor is still pending in the mempool after the wait and its replacements (those entries stay).
 */
export async function resolvePending(ctx: PipelineContext, slot: TwinSlot): Promise<RecoveryOutcome> {
  let finished = 0;
  let swept = 0;
  let open = 0;
  let exhausted = false;
  for (const pending of [...(slot.index.pendingAnchors ?? [])]) {
    if (pending.kind === "batches") {
      const outcome = await resolveBatches(ctx, slot, pending);
      finished += outcome.finished;
      swept += outcome.swept;
      open += outcome.open;
      continue;
    }
    const state = await recordsSendState(ctx, slot, pending);
    if (state.state === "pending") {
      open += 1;
      exhausted ||= state.exhausted;
      continue;
    }
    const found = await findRecordsAnchor(ctx, slot.index.twinId, pending);
    if (found !== null) {
      await finishAnchor(ctx, slot, pending, found);
      finished += 1;
    } else {
      await ctx.discard(
        slot.index.twinId,
        pending.records.map((r) => r.cid),
      );
      settleJournal(ctx, slot, pending);
      await ctx.folder.save(slot.index);
      swept += 1;
    }
  }
  if (open > 0) {
    if (!ctx.twins.has(slot.index.twinId)) ctx.journaled.set(slot.index.twinId, slot);
    throw stillPending(slot.index.twinId, open, exhausted);
  }
  ctx.journaled.delete(slot.index.twinId);
  if (isEmpty(slot.index)) ctx.twins.delete(slot.index.twinId);
  return { finished, swept };
}

/**
 * Where a journaled `anchorRecords` stands: with its nonce journaled, waited for and replaced with higher fees while
 * pending (`settleJournaled`); with the source's pending count only, waited for (bounded). "dropped" without a node.
 */
async function recordsSendState(
  ctx: PipelineContext,
  slot: TwinSlot,
  pending: PendingAnchor,
): Promise<{ state: SendState; exhausted: boolean }> {
  const provider = ctx.options.updateLog.runner?.provider;
  if (!provider) return { state: "dropped", exhausted: false };
  if (pending.nonce !== undefined) {
    const twinId = slot.index.twinId;
    const resend: Resend = (signer, nonce, fees) =>
      ctx.options.updateLog
        .connect(signer)
        .anchorRecords(twinId, pending.recordsRoot, pending.categories, { nonce, ...fees });
    const sent = pending as PendingAnchor & { nonce: number }; // the entry itself: replacements journaled in it
    const settled = await settleJournaled(ctx, slot, pending.source, sent, resend);
    if (settled.state === "dropped") ctx.nonces.forget(pending.source);
    return settled;
  }
  const intent = {
    source: pending.source,
    ...(pending.nonceFloor !== undefined ? { nonceFloor: pending.nonceFloor } : {}),
  };
  return { state: await awaitSettled(provider, intent, anchorWait(ctx)), exhausted: false };
}

/** The slot with journaled anchors of a twin (held or not yet held), if any. */
export function journaledSlot(ctx: PipelineContext, twinId: string): TwinSlot | undefined {
  const slot = ctx.twins.get(twinId) ?? ctx.journaled.get(twinId);
  return slot?.index.pendingAnchors?.length ? slot : undefined;
}

/** Nothing anchored, pending or granted: an index only a journal entry made. */
export function isEmpty(index: TwinIndex): boolean {
  return (
    index.erasedAt === null &&
    index.records.length === 0 &&
    index.batches.length === 0 &&
    index.intakes.length === 0 &&
    index.states.length === 0 &&
    index.grants.length === 0 &&
    (index.pendingAnchors?.length ?? 0) === 0
  );
}

type FoundAnchor = Pick<RecordsAnchor, "sequence" | "source" | "blockNumber" | "transactionHash">;

/** The `RecordsAnchored` of the twin, from the source, with the journaled root, if the chain has it. */
async function findRecordsAnchor(
  ctx: PipelineContext,
  twinId: string,
  pending: PendingAnchor,
): Promise<FoundAnchor | null> {
  const log = ctx.options.updateLog;
  const events = await log.queryFilter(
    log.filters.RecordsAnchored(twinId, undefined, pending.source),
    pending.fromBlock,
  );
  const event = events.find((e) => String(e.args.recordsRoot).toLowerCase() === pending.recordsRoot.toLowerCase());
  if (event === undefined) return null;
  return {
    sequence: BigInt(event.args.sequence).toString(),
    source: getAddress(String(event.args.source)),
    blockNumber: event.blockNumber,
    transactionHash: event.transactionHash,
  };
}

/** Index the records of an anchor found on chain, apply them and commit the new version (as the ingest would have). */
async function finishAnchor(
  ctx: PipelineContext,
  slot: TwinSlot,
  pending: PendingAnchor,
  found: FoundAnchor,
): Promise<void> {
  const indexed = recordBatchOf(slot.index, pending.records, found);
  const entries = indexed.entries;
  const decoded = [];
  for (const entry of entries) decoded.push(await openRecord(ctx, slot, entry));
  settleJournal(ctx, slot, pending);
  await commitRecordBatch(ctx, slot, indexed, decoded, pending.patientLink);
}
