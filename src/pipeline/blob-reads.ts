import type { BytesLike } from "ethers";
import { buildReadingTree, type ReadingTree } from "../chain/anchors";
import { checksumAddress } from "../crypto/address";
import { decodeBatch, decodeIntake, decodeRecord, type SaltedReading } from "./blob-codec";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { BatchAnchor } from "./reader";
import { readingCommitmentBytes, readingTimestampSeconds } from "./reading-commitment";
import { ReadingLookup } from "./reading-lookup";
import type { BatchEntry, IntakeEntry, RecordEntry } from "./twin-index";
import type { VitalReading } from "../fhir/records";
import { stillReadable, WEARABLE, type DecodedRecord, type OpenedBatch, type TwinSlot } from "./twin-slot";

/**
 * Opening a twin's blobs as the custodian: fetched, checked against the CID, decrypted and decoded, and kept in the
 * slot so that each is opened once. Every opener checks after its await that the twin's erasure has not begun.
 */

/**
 * The opens in flight, per slot and blob: reads that come together on a cold twin (a `latest-vitals` answer asks the
 * readings of each sign at once, all from the same last batch) wait for one open of each blob instead of each
 * fetching, decrypting and checking it again. An open that fails is not kept: the next read tries again.
 */
const inFlight = new WeakMap<TwinSlot, Map<string, Promise<unknown>>>();

function sharedOpen<T>(slot: TwinSlot, key: string, open: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(slot);
  if (pending === undefined) inFlight.set(slot, (pending = new Map()));
  const running = pending.get(key) as Promise<T> | undefined;
  if (running !== undefined) return running;
  const opening = open().finally(() => pending.delete(key));
  pending.set(key, opening);
  return opening;
}

export async function openRecord(ctx: PipelineContext, slot: TwinSlot, entry: RecordEntry): Promise<DecodedRecord> {
  const cached = slot.openedRecords.get(entry.anchor.cid);
  if (cached !== undefined) return cached;
  return sharedOpen(slot, `record:${entry.anchor.cid}`, () => openRecordOnce(ctx, slot, entry));
}

async function openRecordOnce(ctx: PipelineContext, slot: TwinSlot, entry: RecordEntry): Promise<DecodedRecord> {
  const plaintext = await ctx.options.vault.read(
    entry.anchor.cid,
    { twinId: slot.index.twinId, recordKey: entry.key, category: entry.category },
    ctx.options.custodianKey,
  );
  stillReadable(slot);
  const decoded = decodeRecord(plaintext, entry.key);
  slot.openedRecords.set(entry.anchor.cid, decoded);
  return decoded;
}

/**
 * A batch's salted readings and their commitments (the tree's leaves), opened once, with its readings' lookup by sign
 * and time and its source's checksum. Its tree is built here from the commitments' bytes (unless the pipeline's tree
 * cache holds it) and checked against the anchored root: a batch that does not give its root is not kept.
 */
export async function openBatchWithHashes(
  ctx: PipelineContext,
  slot: TwinSlot,
  batch: BatchEntry,
): Promise<OpenedBatch> {
  const opened = slot.openedBatches.get(batch.key);
  if (opened !== undefined) return opened;
  return sharedOpen(slot, `batch:${batch.key}`, async () => {
    const salted = await openBatch(ctx, slot, batch);
    stillReadable(slot);
    const tree = treeOf(slot, batch, salted, () =>
      salted.map(({ reading, salt }) => readingCommitmentBytes(salt, slot.index.twinId, reading)),
    );
    // the commitments as hex: the tree's leaf values, in the readings' order (the tree's strings, not a copy)
    const hashes = tree.dump().values.map(({ value: [readingHash] }) => readingHash);
    const fresh: OpenedBatch = {
      salted,
      hashes,
      anchors: new Array<BatchAnchor | undefined>(salted.length),
      lookup: new ReadingLookup(salted.length, (i) => salted[i].reading),
      source: checksumAddress(batch.source),
    };
    slot.openedBatches.set(batch.key, fresh);
    return fresh;
  });
}

export async function openBatch(ctx: PipelineContext, slot: TwinSlot, batch: BatchEntry): Promise<SaltedReading[]> {
  const plaintext = await ctx.options.vault.read(
    batch.cid,
    { twinId: slot.index.twinId, recordKey: batch.key, category: WEARABLE },
    ctx.options.custodianKey,
  );
  return decodeBatch(plaintext, batch.key);
}

export async function openIntake(ctx: PipelineContext, slot: TwinSlot, intake: IntakeEntry): Promise<VitalReading[]> {
  const cached = slot.openedIntakes.get(intake.cid);
  if (cached !== undefined) return cached;
  return sharedOpen(slot, `intake:${intake.cid}`, () => openIntakeOnce(ctx, slot, intake));
}

async function openIntakeOnce(ctx: PipelineContext, slot: TwinSlot, intake: IntakeEntry): Promise<VitalReading[]> {
  const plaintext = await ctx.options.vault.read(
    intake.cid,
    { twinId: slot.index.twinId, recordKey: intake.key, category: WEARABLE },
    ctx.options.custodianKey,
  );
  stillReadable(slot);
  const readings = decodeIntake(plaintext, intake.key);
  slot.openedIntakes.set(intake.cid, readings);
  return readings;
}

/**
 * The batch's tree, from the pipeline's tree cache or rebuilt from its readings' commitments (`commitmentsOf`, asked
 * only then: as bytes computed when the batch is opened, as the opened batch's hex after the cache let the tree go;
 * the index keeps no tree) and checked against the anchored root: a batch blob that does not give its root is refused.
 */
export function treeOf(
  slot: TwinSlot,
  batch: BatchEntry,
  salted: readonly SaltedReading[],
  commitmentsOf: () => readonly BytesLike[],
): ReadingTree {
  let tree = slot.trees.get(batch.key);
  if (tree === undefined) {
    const commitments = commitmentsOf();
    tree = buildReadingTree(
      salted.map(({ reading }, i) => ({ readingHash: commitments[i], timestamp: readingTimestampSeconds(reading) })),
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
