import type { TwinRecord, VitalReading } from "../fhir/records";
import type { TwinEngine } from "../twin";
import { openBatch, openIntake, openRecord } from "./blob-reads";
import { mapLimit } from "./concurrency";
import { recordsByBatch } from "./record-proofs";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import { erasedTwinIndex, type ApplyEntry, type RecordEntry, type TwinIndex } from "./twin-index";
import { markEffective, PARALLEL_IO, unwrapped, type TwinSlot } from "./twin-slot";

/**
 * Rebuild a twin from its saved index after a restart: decrypt its blobs and replay every apply through the engine
 * (each must give the state root it gave then), and put its pending intakes back in the batcher. An index whose twin
 * the key store says is erased keeps only its erased form.
 */
export async function restoreTwin(ctx: PipelineContext, loaded: TwinIndex): Promise<void> {
  let index = loaded;
  const erasure = index.erasedAt === null ? await ctx.options.vault.keys.erasure(index.twinId) : undefined;
  // erased in the key store but the process stopped before the index said so, or an index erased before erasure
  // dropped the hospital links: keep only its erased form
  if (
    erasure !== undefined ||
    (index.erasedAt !== null && (index.patientLink !== undefined || index.records.some((entry) => entry.key !== "")))
  ) {
    index = erasedTwinIndex(index, index.erasedAt ?? erasure?.erasedAt ?? new Date().toISOString());
    await ctx.folder.save(index);
  }
  const slot = ctx.newSlot(index);
  ctx.twins.set(index.twinId, slot);
  if (index.erasedAt !== null) {
    slot.engine = null;
    return;
  }
  const recordByCid = new Map(index.records.map((entry) => [entry.anchor.cid, entry]));
  const byBatch = recordsByBatch(index);
  for (const apply of index.applies) {
    if (apply.recordBatch !== undefined) {
      const batch = byBatch.get(apply.recordBatch) ?? [];
      if (
        batch.length !== index.recordBatches[apply.recordBatch]?.leafCount ||
        [...batch].some((entry) => entry === undefined)
      ) {
        throw new PipelineError(
          "INDEX_CORRUPT",
          `twin ${index.twinId}: record batch ${apply.recordBatch} is not whole`,
        );
      }
      await replayApply(ctx, slot, apply, batch);
      continue;
    }
    const recordEntries = (apply.records ?? []).map((cid) => {
      const entry = recordByCid.get(cid);
      if (entry === undefined) throw new PipelineError("INDEX_CORRUPT", `twin ${index.twinId}: unknown record ${cid}`);
      return entry;
    });
    await replayApply(ctx, slot, apply, recordEntries);
  }
  for (const intake of index.intakes) {
    ctx.batcher.add(index.twinId, await openIntake(ctx, slot, intake), intake.receivedAt);
  }
}

async function replayApply(
  ctx: PipelineContext,
  slot: TwinSlot,
  apply: ApplyEntry,
  recordEntries: readonly RecordEntry[],
): Promise<void> {
  const twinId = slot.index.twinId;
  const records: TwinRecord[] = [];
  const readings: VitalReading[] = [];
  const sourceHashes: string[] = [];
  const decoded = await unwrapped(mapLimit(recordEntries, PARALLEL_IO, (entry) => openRecord(ctx, slot, entry)));
  decoded.forEach((d, i) => {
    records.push(d.record);
    readings.push(...d.readings);
    sourceHashes.push(recordEntries[i].anchor.contentHash);
  });
  for (const key of apply.batches) {
    const batch = slot.batchByKey.get(key);
    if (batch === undefined) throw new PipelineError("INDEX_CORRUPT", `twin ${twinId}: unknown batch ${key}`);
    readings.push(...(await openBatch(ctx, slot, batch)).map((salted) => salted.reading));
    sourceHashes.push(batch.contentHash);
  }
  const version = (slot.engine as TwinEngine).apply({ records, readings, sourceHashes });
  if (version.version !== apply.version || version.stateRoot !== apply.stateRoot) {
    throw new PipelineError(
      "INDEX_CORRUPT",
      `twin ${twinId}: replaying version ${apply.version} gives another state root (engine options changed?)`,
    );
  }
  markEffective(slot, records, recordEntries);
}
