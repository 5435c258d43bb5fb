import { getAddress } from "ethers";
import { buildReadingTree, proveReadingAt, type ReadingTree } from "../chain/anchors";
import type { VitalReading } from "../fhir/records";
import type { SaltedReading } from "./blob-codec";
import { openBatchWithHashes, openIntake, openRecord } from "./blob-reads";
import { mapLimit } from "./concurrency";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { BatchAnchor, ProvenReading, ProvenRecord, ReadingsQuery } from "./reader";
import { readingTimestampSeconds } from "./reading-commitment";
import { recordAnchorsOf, recordSequence } from "./record-proofs";
import type { BatchEntry } from "./twin-index";
import { PARALLEL_IO, stillReadable, unwrapped, type TwinSlot } from "./twin-slot";

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

export async function provenReadings(
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
    const tree = treeOf(slot, batch, opened.hashes, opened.salted);
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
function batchAnchor(
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

/**
 * The batch's tree, rebuilt from its decrypted readings and salts (the index keeps no tree) and
 * checked against the anchored root: a batch blob that does not give its root is refused.
 */
function treeOf(
  slot: TwinSlot,
  batch: BatchEntry,
  hashes: readonly string[],
  salted: readonly SaltedReading[],
): ReadingTree {
  let tree = slot.trees.get(batch.key);
  if (tree === undefined) {
    tree = buildReadingTree(
      salted.map(({ reading }, i) => ({ readingHash: hashes[i], timestamp: readingTimestampSeconds(reading) })),
    );
    if (tree.root !== batch.merkleRoot) {
      throw new PipelineError(
        "INDEX_CORRUPT",
        `${batch.key} of twin ${slot.index.twinId} does not give its anchored root`,
      );
    }
    slot.trees.set(batch.key, tree);
  }
  return tree;
}

function compareSequence(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
