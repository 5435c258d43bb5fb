import { proveReadingAt, type ReadingTree } from "../chain/anchors";
import type { VitalReading } from "../fhir/records";
import { openBatchWithHashes, openIntake, openRecord, treeOf } from "./blob-reads";
import { mapLimit } from "./concurrency";
import type { PipelineContext } from "./pipeline-context";
import type { BatchAnchor, ProvenReading, ProvenRecord, ReadingsQuery } from "./reader";
import { readingTimestampSeconds } from "./reading-commitment";
import { ReadingLookup, type ReadingSpan } from "./reading-lookup";
import { recordAnchorsOf, recordSequence } from "./record-proofs";
import type { BatchEntry } from "./twin-index";
import {
  PARALLEL_IO,
  stillReadable,
  unwrapped,
  type CarriedReading,
  type CarriedReadings,
  type TwinSlot,
} from "./twin-slot";

/** The pipeline's reads (`TwinDataReader`): records and readings with their proofs, from blobs opened once. */

export async function provenRecords(
  ctx: PipelineContext,
  twinId: string,
  categoryMask: number,
): Promise<readonly ProvenRecord[]> {
  const slot = ctx.readable(twinId);
  const index = slot.index;
  const entries = [...slot.effective.values()]
    .filter((entry) => (entry.category & categoryMask) !== 0)
    .sort((a, b) => compareSequence(recordSequence(index, a), recordSequence(index, b)));
  const anchors = recordAnchorsOf(ctx, index, entries);
  const proven = await unwrapped(
    mapLimit(entries, PARALLEL_IO, async (entry, i): Promise<ProvenRecord> => ({
      record: (await openRecord(ctx, slot, entry)).record,
      anchor: anchors[i],
    })),
  );
  stillReadable(slot);
  return proven;
}

/**
 * The readings of the query with their anchors, in time order (equal times by sign). Each source answers from a lookup
 * by sign and time built once: an anchored batch's (when opened, its tree checked against the anchored root before
 * any of its readings is served), a pending intake's, and the readings the effective EMR records carry (with their
 * records' anchors), derived once per change of the effective records.
 */
export async function provenReadings(
  ctx: PipelineContext,
  twinId: string,
  query: ReadingsQuery,
): Promise<readonly ProvenReading[]> {
  const slot = ctx.readable(twinId);
  const span: ReadingSpan = {
    signs: query.signs === undefined ? undefined : new Set(query.signs),
    from: query.from ?? -Infinity,
    to: query.to ?? Infinity,
  };
  const out: ProvenReading[] = [];
  for (const batch of slot.index.batches) {
    if (batch.to * 1000 + 999 < span.from || batch.from * 1000 >= span.to) continue;
    const opened = slot.openedBatches.get(batch.key) ?? (await openBatchWithHashes(ctx, slot, batch));
    const tree = treeOf(slot, batch, opened.salted, () => opened.hashes);
    for (const i of opened.lookup.positions(span)) {
      const { reading, salt } = opened.salted[i];
      opened.anchors[i] ??= batchAnchor(batch, opened.source, tree, i, opened.hashes[i], salt, reading.at);
      out.push({ reading, anchor: opened.anchors[i] });
    }
  }
  for (const intake of slot.index.intakes) {
    const readings = slot.openedIntakes.get(intake.cid) ?? (await openIntake(ctx, slot, intake));
    for (const i of intakeLookup(readings).positions(span)) out.push({ reading: readings[i], anchor: null });
  }
  const { carried, lookup } = await carriedReadings(ctx, slot);
  for (const i of lookup.positions(span)) {
    out.push({ reading: carried[i].reading, anchor: null, recordAnchor: carried[i].recordAnchor });
  }
  stillReadable(slot);
  return out.sort(
    (a, b) =>
      a.reading.at - b.reading.at || (a.reading.sign < b.reading.sign ? -1 : a.reading.sign > b.reading.sign ? 1 : 0),
  );
}

/** An intake's lookup, built once per opened intake (its readings never change; erasure and flushes drop it). */
const intakeLookups = new WeakMap<readonly VitalReading[], ReadingLookup>();

function intakeLookup(readings: readonly VitalReading[]): ReadingLookup {
  let lookup = intakeLookups.get(readings);
  if (lookup === undefined) intakeLookups.set(readings, (lookup = ReadingLookup.of(readings)));
  return lookup;
}

/**
 * The readings the twin's effective records carry, each with its record's anchor: derived once from the entries as
 * they are now and kept on them (`EffectiveRecords` drops it at their next change); a derivation that fails is not
 * kept. Reads that come together share one derivation.
 */
function carriedReadings(ctx: PipelineContext, slot: TwinSlot): CarriedReadings["readings"] {
  const effective = slot.effective;
  const kept = effective.carried;
  if (kept !== undefined && kept.index === slot.index) return kept.readings;
  const fresh: CarriedReadings = { index: slot.index, readings: readCarried(ctx, slot) };
  effective.carried = fresh;
  fresh.readings.catch(() => {
    if (effective.carried === fresh) effective.carried = undefined;
  });
  return fresh.readings;
}

/** @dev Takes the entries and their anchors before its first await, so what it derives is of the entries as kept. */
async function readCarried(ctx: PipelineContext, slot: TwinSlot): ReturnType<typeof carriedReadings> {
  const carriers = [...slot.effective.values()].filter((entry) => entry.readingCount > 0);
  const anchors = recordAnchorsOf(ctx, slot.index, carriers);
  const decoded = await unwrapped(mapLimit(carriers, PARALLEL_IO, (entry) => openRecord(ctx, slot, entry)));
  const carried = decoded.flatMap(({ readings }, i) =>
    readings.map((reading): CarriedReading => ({ reading, recordAnchor: anchors[i] })),
  );
  return { carried, lookup: new ReadingLookup(carried.length, (i) => carried[i].reading) };
}

/** Re-read every blob the twin's answers come from and check each against its CID; returns the count. */
export async function checkTwinBlobs(ctx: PipelineContext, twinId: string): Promise<number> {
  const slot = ctx.readable(twinId);
  const cids = [
    ...slot.index.records.map((entry) => entry.anchor.cid),
    ...slot.index.batches.map((batch) => batch.cid),
    ...slot.index.intakes.map((intake) => intake.cid),
  ];
  await unwrapped(mapLimit(cids, PARALLEL_IO, (cid) => ctx.options.vault.blobs.get(cid)));
  return cids.length;
}

/** The anchor of the batch's `index`-th reading: its proof read off the batch's tree, whose root `treeOf` checked. */
export function batchAnchor(
  batch: BatchEntry,
  source: string,
  tree: ReadingTree,
  index: number,
  readingHash: string,
  salt: string,
  at: number,
): BatchAnchor {
  const timestamp = readingTimestampSeconds({ at });
  return {
    kind: "batch",
    merkleRoot: batch.merkleRoot,
    source,
    readingHash,
    timestamp,
    salt,
    proof: proveReadingAt(tree, index),
    blockNumber: batch.blockNumber,
  };
}

function compareSequence(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
