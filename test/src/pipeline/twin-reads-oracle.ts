import { getAddress } from "ethers";
import type { VitalReading } from "../../../src/fhir/records";
import { openBatchWithHashes, openIntake, openRecord, treeOf } from "../../../src/pipeline/blob-reads";
import type { PipelineContext } from "../../../src/pipeline/pipeline-context";
import type { ProvenReading, ReadingsQuery } from "../../../src/pipeline/reader";
import { recordAnchorsOf } from "../../../src/pipeline/record-proofs";
import { batchAnchor } from "../../../src/pipeline/twin-reads";
import { stillReadable } from "../../../src/pipeline/twin-slot";

/**
 * The pipeline's `provenReadings` as it was before the sign+time lookups (issue 12): a scan of every overlapping
 * batch's readings, every pending intake and every EMR record carrying readings, per query. Kept as the oracle the
 * lookups are checked against (twin-reads.test.ts) and as the baseline they are measured against. The batch's tree and
 * a reading's anchor are the pipeline's own (`treeOf`, `batchAnchor`): only the scan is the old code.
 */
export async function scannedReadings(
  ctx: PipelineContext,
  twinId: string,
  query: ReadingsQuery,
): Promise<readonly ProvenReading[]> {
  const slot = ctx.readable(twinId);
  const signs = query.signs === undefined ? undefined : new Set(query.signs);
  const from = query.from ?? -Infinity;
  const to = query.to ?? Infinity;
  const wanted = (reading: VitalReading) =>
    (signs === undefined || signs.has(reading.sign)) && reading.at >= from && reading.at < to;
  const out: ProvenReading[] = [];

  for (const batch of slot.index.batches) {
    if (batch.to * 1000 + 999 < from || batch.from * 1000 >= to) continue;
    const opened = await openBatchWithHashes(ctx, slot, batch);
    const tree = treeOf(slot, batch, opened.salted, () => opened.hashes);
    const source = getAddress(batch.source);
    opened.salted.forEach(({ reading, salt }, i) => {
      if (!wanted(reading)) return;
      const anchor = (opened.anchors[i] ??= batchAnchor(batch, source, tree, i, opened.hashes[i], salt, reading.at));
      out.push({ reading, anchor });
    });
  }
  for (const intake of slot.index.intakes) {
    for (const reading of await openIntake(ctx, slot, intake)) if (wanted(reading)) out.push({ reading, anchor: null });
  }
  const carriers = [...slot.effective.values()].filter((entry) => entry.readingCount > 0);
  const carrierAnchors = recordAnchorsOf(ctx, slot.index, carriers);
  for (const [i, entry] of carriers.entries()) {
    const { readings } = await openRecord(ctx, slot, entry);
    for (const reading of readings) {
      if (wanted(reading)) out.push({ reading, anchor: null, recordAnchor: carrierAnchors[i] });
    }
  }
  stillReadable(slot);
  return out.sort(
    (a, b) =>
      a.reading.at - b.reading.at || (a.reading.sign < b.reading.sign ? -1 : a.reading.sign > b.reading.sign ? 1 : 0),
  );
}
