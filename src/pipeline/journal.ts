import type { PipelineContext } from "./pipeline-context";
import type { PendingAnchor, PendingBatches } from "./pipeline-types";
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
