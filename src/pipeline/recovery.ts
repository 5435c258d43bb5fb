import { getAddress } from "ethers";
import { proveAllRecords, recordsAnchorOf } from "../chain/anchors";
import { openRecord } from "./blob-reads";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { PendingAnchor, PendingRecord } from "./pipeline-types";
import type { RecordsAnchor } from "./reader";
import { recordsAnchorIn, recordTreeOf } from "./record-anchoring";
import { applyAndCommit } from "./state-commit";
import type { RecordEntry, TwinIndex } from "./twin-index";
import type { TwinSlot } from "./twin-slot";

/**
 * Recovery of anchors whose outcome a crash or a failed RPC left unknown ("nothing lost, nothing doubled").
 *
 * Before an EMR ingest sends its `anchorRecords`, it journals a {@link PendingAnchor} in the twin's sealed index (the
 * root, the source, the records' keys, CIDs and hashes: no health data). The entry is dropped once the anchor is
 * indexed. When the send fails, or the process dies between storing and anchoring, the entry stays; then, on the next
 * write of the twin (and on `TwinPipeline.open`), the chain is asked: a `RecordsAnchored` of the twin with that root
 * from the source → the records are indexed, applied and the version committed (the send went through, only its
 * receipt was lost); none → their blobs and wrapped keys are swept. A retried ingest therefore never anchors twice:
 * after recovery its records are either held (unchanged, nothing sent) or gone (stored and anchored afresh).
 *
 * @dev A transaction still in a node's mempool when the journal is resolved counts as not anchored; on an automining
 * or fast chain the send's failure comes after the block. A production deployment on a slow chain would compare the
 * source's mined nonce with the journaled one before sweeping (not done here).
 */

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
  let fromBlock: number;
  try {
    fromBlock = provider ? await provider.getBlockNumber() : 0;
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

/** Drop a journal entry once its anchor is indexed (saved with the next index save). */
export function settleJournal(ctx: PipelineContext, slot: TwinSlot, pending: PendingAnchor): void {
  const list = slot.index.pendingAnchors ?? [];
  const at = list.indexOf(pending);
  if (at >= 0) list.splice(at, 1);
  if (list.length > 0) return;
  delete slot.index.pendingAnchors;
  ctx.journaled.delete(slot.index.twinId);
}

/** After a failed send: resolve the journal at once if the chain answers, else leave it for the next write. */
export async function afterFailedAnchor(ctx: PipelineContext, slot: TwinSlot, cause: unknown): Promise<PipelineError> {
  const twinId = slot.index.twinId;
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
 * before and whose entries are all swept is not held afterwards. Throws when the chain cannot be read (the entries
 * stay).
 */
export async function resolvePending(ctx: PipelineContext, slot: TwinSlot): Promise<RecoveryOutcome> {
  let finished = 0;
  let swept = 0;
  for (const pending of [...(slot.index.pendingAnchors ?? [])]) {
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
  ctx.journaled.delete(slot.index.twinId);
  if (isEmpty(slot.index)) ctx.twins.delete(slot.index.twinId);
  return { finished, swept };
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
  const tree = recordTreeOf(pending.records);
  const proofs = proveAllRecords(tree);
  const entries: RecordEntry[] = pending.records.map((record, i) => ({
    key: record.key,
    category: record.category,
    readingCount: record.readingCount,
    anchor: recordsAnchorIn(tree, record, found, proofs[i]),
    source: found.source,
    ...(record.digest !== undefined ? { digest: record.digest } : {}),
  }));
  const decoded = [];
  for (const entry of entries) decoded.push(await openRecord(ctx, slot, entry));
  slot.index.records.push(...entries);
  slot.index.patientLink ??= pending.patientLink;
  settleJournal(ctx, slot, pending);
  ctx.twins.set(slot.index.twinId, slot);
  await applyAndCommit(ctx, slot, slot.engine?.current, {
    records: decoded.map((d) => d.record),
    readings: decoded.flatMap((d) => d.readings),
    sourceHashes: entries.map((e) => e.anchor.contentHash),
    recordEntries: entries,
    batchKeys: [],
  });
}
