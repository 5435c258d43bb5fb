import { getAddress, type Signer } from "ethers";
import { ingest, parseFhirJson, planReingest } from "../fhir";
import type { IngestResult, TwinRecord, VitalReading } from "../fhir/records";
import type { PublicKeyLike } from "../crypto";
import { decodeRecord, encodeRecord } from "./blob-codec";
import { mapLimit, MapLimitError } from "./concurrency";
import { PipelineError } from "./errors";
import { patientLinkDigest } from "./patient-link";
import type { PipelineContext } from "./pipeline-context";
import type { EmrIngestSummary } from "./pipeline-types";
import { anchorRecordBatch, type AnchoredRecords } from "./record-anchoring";
import { afterFailedAnchor, journaledRecordsSender, journalRecords, settleJournal } from "./recovery";
import { commitRecordBatch } from "./state-commit";
import { recordBatchOf } from "./record-proofs";
import { emptyTwinIndex } from "./twin-index";
import { currentAnchor, type DecodedRecord, type TwinSlot } from "./twin-slot";

/** Records sealed and stored per batch of store writes. */
const STORE_CHUNK = 1024;

/** A record sealed and stored, about to be anchored. */
interface Stored {
  readonly key: string;
  readonly category: number;
  readonly cid: string;
  readonly contentHash: string;
  readonly readingCount: number;
  readonly digest: string | undefined;
}

/** What an EMR ingest found to store, or its summary when there is nothing new. */
type IngestPlan =
  | { readonly unchangedSummary: EmrIngestSummary }
  | {
      readonly slot: TwinSlot;
      readonly patientLink: string | undefined;
      readonly fresh: TwinRecord[];
      readonly readingsByKey: Map<string, VitalReading[]>;
      readonly counts: Pick<EmrIngestSummary, "skipped" | "skippedCount" | "warnings" | "unchanged">;
    };

/**
 * Parse and check the bundle (throws on refusal, before anything is stored) and find the records that are new or
 * changed. Only those and their readings outlive this call: the parsed bundle and the ingest result do not.
 */
function planIngest(
  ctx: PipelineContext,
  twinId: string,
  bundle: unknown,
  patientReference: string | undefined,
): IngestPlan {
  ctx.refuseErased(twinId);
  const parsed = typeof bundle === "string" ? parseFhirJson(bundle) : bundle;
  const result: IngestResult = ingest(parsed, {
    origin: "emr",
    ...(patientReference !== undefined ? { patient: patientReference } : {}),
  });
  if (result.records.length === 0) {
    throw new PipelineError("EMPTY_INPUT", `the bundle for twin ${twinId} holds no record the twin models`);
  }
  // A new twin is only held once something of it is anchored.
  const slot = ctx.twins.get(twinId) ?? ctx.newSlot(emptyTwinIndex(twinId));
  const patientLink = checkPatientLink(ctx, slot, result.patient ?? patientReference);
  const plan = planReingest(heldDigests(slot), result.records);
  const fresh = [...plan.added, ...plan.changed];
  if (fresh.length === 0) return { unchangedSummary: unchangedIngest(slot, result, plan.unchanged.length) };
  const counts = {
    skipped: result.skipped,
    skippedCount: skippedCount(result),
    warnings: result.warnings?.length ?? 0,
    unchanged: plan.unchanged.length,
  };
  return { slot, patientLink, fresh, readingsByKey: groupReadings(result.readings), counts };
}

/** EMR ingest (see `TwinPipeline.ingestEmr`): check, seal and store each new record, anchor them as one batch. */
export async function ingestEmr(
  ctx: PipelineContext,
  twinId: string,
  bundle: unknown,
  sourceSigner: Signer,
  patientReference: string | undefined,
): Promise<EmrIngestSummary> {
  const plan = planIngest(ctx, twinId, bundle, patientReference);
  if ("unchangedSummary" in plan) return plan.unchangedSummary;
  const { slot, fresh } = plan;
  const source = getAddress(await sourceSigner.getAddress());
  const categories = fresh.reduce((mask, record) => mask | record.category, 0);
  await ctx.preflight(twinId, source, categories);

  const patient = await ctx.options.patientPublicKey(twinId);
  // hands the records over: from here on only their decoded copies (what the engine gets) are held
  const { decoded, stored } = await sealAndStore(ctx, slot, fresh.splice(0), plan.readingsByKey, patient);

  // One record batch for the whole ingest: one transaction, one root, a proof per record. Journaled first (recovery.ts).
  const pending = await journalRecords(ctx, slot, source, stored, plan.patientLink);
  await ctx.options.beforeAnchor?.(pending);
  let anchored: AnchoredRecords;
  try {
    const sender = journaledRecordsSender(ctx, slot, pending);
    anchored = await anchorRecordBatch(ctx.options.updateLog, sourceSigner, twinId, stored, ctx.nonces, sender);
  } catch (cause) {
    throw await afterFailedAnchor(ctx, slot, cause);
  }
  settleJournal(ctx, slot, pending);
  const indexed = recordBatchOf(slot.index, stored, anchored.anchors[0]);
  // saved once, after the commit: until then the journal on disk lets a restart redo the apply and the commit
  const done = await commitRecordBatch(ctx, slot, indexed, decoded, plan.patientLink);
  const entries = indexed.entries;
  return {
    ...done,
    twinId,
    records: entries.length,
    readings: stored.reduce((sum, s) => sum + s.readingCount, 0),
    ...plan.counts,
    anchors: anchored.anchors,
    anchorGasUsed: anchored.receipt.gasUsed,
  };
}

/**
 * Encode, seal and store the records, {@link STORE_CHUNK} at a time (two chunks in flight, so one is sealed while the
 * other is written): only a chunk's plaintexts and envelopes are held at once, and `records` is emptied (taken a chunk
 * at a time, each chunk let go once stored). Each record is decoded right after it is encoded, so the engine gets
 * exactly what a restart will decrypt. On failure, what was stored is discarded.
 */
async function sealAndStore(
  ctx: PipelineContext,
  slot: TwinSlot,
  records: TwinRecord[],
  readingsByKey: Map<string, VitalReading[]>,
  patient: PublicKeyLike,
): Promise<{ decoded: DecodedRecord[]; stored: Stored[] }> {
  const twinId = slot.index.twinId;
  const readersByCategory = new Map<number, PublicKeyLike[]>();
  const readersOf = (category: number) => {
    let readers = readersByCategory.get(category);
    if (readers === undefined) readersByCategory.set(category, (readers = ctx.readersFor(slot, category, patient)));
    return readers;
  };
  const decoded: DecodedRecord[] = new Array<DecodedRecord>(records.length);
  // moved into chunks (emptying `records`), so that each chunk's records are let go once it is stored
  const chunks: (readonly TwinRecord[])[] = [];
  while (records.length > 0) chunks.push(records.splice(0, STORE_CHUNK));
  try {
    const storedChunks = await mapLimit(chunks, 2, async (chunk, c) => {
      chunks[c] = []; // the chunk's records are let go once encoded
      const toSeal = chunk.map((record, i) => {
        const plaintext = encodeRecord(record, readingsByKey.get(record.key) ?? []);
        readingsByKey.delete(record.key);
        decoded[c * STORE_CHUNK + i] = decodeRecord(plaintext, record.key);
        return {
          plaintext,
          context: { twinId, recordKey: record.key, category: record.category },
          readers: readersOf(record.category),
        };
      });
      const puts = await ctx.options.vault.putMany(toSeal);
      return puts.map((put, i): Stored => ({
        key: chunk[i].key,
        category: chunk[i].category,
        cid: put.cid,
        contentHash: put.contentHash,
        readingCount: decoded[c * STORE_CHUNK + i].readings.length,
        digest: chunk[i].digest,
      }));
    });
    return { decoded, stored: storedChunks.flat() };
  } catch (error) {
    if (!(error instanceof MapLimitError)) throw error;
    const done = (error.partial as (Stored[] | undefined)[]).flatMap((chunk) => chunk ?? []);
    await ctx.discard(
      twinId,
      done.map((s) => s.cid),
    );
    throw error.error;
  }
}

/** The keyed digest of the ingest's patient, refused when the twin already names another patient. */
function checkPatientLink(
  ctx: PipelineContext,
  slot: TwinSlot,
  patientReference: string | undefined,
): string | undefined {
  if (patientReference === undefined) return undefined;
  const link = patientLinkDigest(ctx.options.custodianKey, slot.index.twinId, patientReference);
  if (slot.index.patientLink !== undefined && slot.index.patientLink !== link) {
    throw new PipelineError(
      "PATIENT_MISMATCH",
      `the bundle is about another patient than the records twin ${slot.index.twinId} holds; nothing was stored`,
    );
  }
  return link;
}

/** Content digests of the records the twin holds now, by record key. */
function heldDigests(slot: TwinSlot): Map<string, string> {
  const held = new Map<string, string>();
  for (const [key, entry] of slot.effective) if (entry.digest !== undefined) held.set(key, entry.digest);
  return held;
}

/** An ingest whose every record the twin already holds unchanged: no blob, no transaction, no new version. */
function unchangedIngest(slot: TwinSlot, result: IngestResult, unchanged: number): EmrIngestSummary {
  if (slot.engine === null) throw new PipelineError("TWIN_ERASED", `twin ${slot.index.twinId} is erased`);
  const version = slot.engine.current;
  return {
    version,
    state: currentAnchor(slot.index.states, version.version),
    alerts: version.model.alerts,
    raisedAlerts: [],
    commitGasUsed: 0n,
    twinId: slot.index.twinId,
    records: 0,
    readings: 0,
    skipped: result.skipped,
    skippedCount: skippedCount(result),
    warnings: result.warnings?.length ?? 0,
    unchanged,
    anchors: [],
    anchorGasUsed: 0n,
  };
}

function skippedCount(result: IngestResult): number {
  return Object.values(result.skipped).reduce((sum, n) => sum + n, 0);
}

/** Readings by the key of the record that carries them. */
function groupReadings(readings: readonly VitalReading[]): Map<string, VitalReading[]> {
  const byKey = new Map<string, VitalReading[]>();
  for (const reading of readings) {
    if (reading.recordKey === undefined) continue;
    const list = byKey.get(reading.recordKey);
    if (list) list.push(reading);
    else byKey.set(reading.recordKey, [reading]);
  }
  return byKey;
}
