import { getAddress, type Signer } from "ethers";
import { ingest, parseFhirJson, planReingest } from "../fhir";
import type { IngestResult, VitalReading } from "../fhir/records";
import { decodeRecord, encodeRecord } from "./blob-codec";
import { mapLimit, MapLimitError } from "./concurrency";
import { PipelineError } from "./errors";
import { patientLinkDigest } from "./patient-link";
import type { PipelineContext } from "./pipeline-context";
import type { EmrIngestSummary } from "./pipeline-types";
import { anchorRecordBatch, type AnchoredRecords } from "./record-anchoring";
import { applyAndCommit } from "./state-commit";
import { emptyTwinIndex, type RecordEntry } from "./twin-index";
import { currentAnchor, PARALLEL_IO, type TwinSlot } from "./twin-slot";

/** A record sealed and stored, about to be anchored. */
interface Stored {
  readonly key: string;
  readonly category: number;
  readonly cid: string;
  readonly contentHash: string;
  readonly readingCount: number;
}

/** EMR ingest (see `TwinPipeline.ingestEmr`): check, seal and store each new record, anchor them as one batch. */
export async function ingestEmr(
  ctx: PipelineContext,
  twinId: string,
  bundle: unknown,
  sourceSigner: Signer,
  patientReference: string | undefined,
): Promise<EmrIngestSummary> {
  ctx.refuseErased(twinId);
  const parsed = typeof bundle === "string" ? parseFhirJson(bundle) : bundle;
  // Throws on refusal, before anything is stored.
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
  if (fresh.length === 0) return unchangedIngest(slot, result, plan.unchanged.length);
  const source = getAddress(await sourceSigner.getAddress());
  const categories = fresh.reduce((mask, record) => mask | record.category, 0);
  await ctx.preflight(twinId, source, categories);

  // Encode and decode each record first: the engine gets exactly what a restart will decrypt.
  const readingsByKey = groupReadings(result.readings);
  const prepared = fresh.map((record) => {
    const plaintext = encodeRecord(record, readingsByKey.get(record.key) ?? []);
    return { record, plaintext, decoded: decodeRecord(plaintext, record.key) };
  });
  const patient = await ctx.options.patientPublicKey(twinId);
  const vault = ctx.options.vault;
  let stored: Stored[];
  try {
    stored = await mapLimit(prepared, PARALLEL_IO, async ({ record, plaintext, decoded }) => {
      const readers = ctx.readersFor(slot, record.category, patient);
      const put = await vault.put(plaintext, { twinId, recordKey: record.key, category: record.category }, readers);
      return {
        key: record.key,
        category: record.category,
        cid: put.cid,
        contentHash: put.contentHash,
        readingCount: decoded.readings.length,
      };
    });
  } catch (error) {
    if (!(error instanceof MapLimitError)) throw error;
    const done = (error.partial as (Stored | undefined)[]).filter((s): s is Stored => s !== undefined);
    await ctx.discard(
      twinId,
      done.map((s) => s.cid),
    );
    throw error.error;
  }

  // One record batch for the whole ingest: one transaction, one root, a proof per record.
  let anchored: AnchoredRecords;
  try {
    anchored = await anchorRecordBatch(ctx.options.updateLog, sourceSigner, twinId, stored);
  } catch (cause) {
    await ctx.discard(
      twinId,
      stored.map((s) => s.cid),
    );
    throw cause instanceof PipelineError
      ? cause
      : new PipelineError("ANCHOR_FAILED", `anchoring the records of twin ${twinId} failed; none is anchored`, {
          cause,
        });
  }
  const entries: RecordEntry[] = anchored.anchors.map((anchor, i) => ({
    key: stored[i].key,
    category: stored[i].category,
    readingCount: stored[i].readingCount,
    anchor,
    source,
    ...(prepared[i].record.digest !== undefined ? { digest: prepared[i].record.digest } : {}),
  }));
  slot.index.records.push(...entries);
  slot.index.patientLink ??= patientLink;
  ctx.twins.set(twinId, slot);
  const done = await applyAndCommit(ctx, slot, slot.engine?.current, {
    records: prepared.map((p) => p.decoded.record),
    readings: prepared.flatMap((p) => p.decoded.readings),
    sourceHashes: entries.map((e) => e.anchor.contentHash),
    recordEntries: entries,
    batchKeys: [],
  });
  return {
    ...done,
    twinId,
    records: entries.length,
    readings: prepared.reduce((sum, p) => sum + p.decoded.readings.length, 0),
    skipped: result.skipped,
    skippedCount: skippedCount(result),
    warnings: result.warnings?.length ?? 0,
    unchanged: plan.unchanged.length,
    anchors: anchored.anchors,
    anchorGasUsed: anchored.receipt.gasUsed,
  };
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
