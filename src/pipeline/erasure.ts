import { TwinStatus } from "../vocabulary";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { PipelineErasure } from "./pipeline-types";
import { emptyTwinIndex, erasedTwinIndex } from "./twin-index";

/**
 * Erase a twin on the service side (see `TwinPipeline.erase`), once the registry says Erased: reads in flight answer
 * `TWIN_ERASED` from the first step on, then the keys (and blobs) are destroyed and the index keeps only the anchors.
 */
export async function eraseTwin(ctx: PipelineContext, id: string): Promise<PipelineErasure> {
  const status = Number(await (await ctx.registry()).statusOf(id));
  if (status !== TwinStatus.Erased) {
    throw new PipelineError(
      "TWIN_NOT_ERASED_ON_CHAIN",
      `twin ${id} is ${TwinStatus[status] ?? "unknown"} on chain; erase it in the registry first`,
    );
  }
  const slot = ctx.twins.get(id) ?? ctx.newSlot(emptyTwinIndex(id));
  slot.erasing = true; // reads in flight from here on answer TWIN_ERASED
  ctx.twins.set(id, slot);
  ctx.batcher.take(id);
  const receipt = await ctx.options.vault.erase(id);
  // what links the twin to the hospital (record keys, patient link, digests, readers) goes with the keys
  slot.index = erasedTwinIndex(slot.index, slot.index.erasedAt ?? receipt.erasedAt);
  slot.engine = null;
  slot.effective.clear();
  slot.trees.clear();
  slot.openedRecords.clear();
  slot.openedBatches.clear();
  slot.openedIntakes.clear();
  await ctx.folder.save(slot.index);
  return {
    twinId: id,
    erasedAt: slot.index.erasedAt as string,
    destroyedKeys: receipt.destroyedKeys,
    deletedBlobs: receipt.deletedBlobs,
  };
}
