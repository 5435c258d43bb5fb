import { id } from "ethers";
import { unpad } from "../crypto";
import { generateCohort, ingest, ingestWearable, type CohortOptions, type VitalReading } from "../fhir";
import { DEFAULT_BATCH_POLICY, batchPlaintextBytes, prepareBatch, splitIntoBatches } from "../pipeline";
// The pipeline's own encoders (not in its public surface): the very plaintexts it seals, padding included.
import { encodeBatch, encodeRecord } from "../pipeline/blob-codec";
import type { PaddingCost, PaddingRow } from "./types";

/**
 * Padding's storage cost (issue 10, item 2) over the evaluation's cohort: every EMR record's plaintext as the pipeline
 * seals it (`encodeRecord`: Padmé buckets above a 512-byte floor) against the same plaintext unpadded; every
 * patient's wearable readings batched as the default policy batches them ("cadence": one batch per hour-long period
 * with readings, split at `maxReadings`, each batch padded to the policy's fixed `batchPlaintextBytes`) against the
 * batches' unpadded JSON. Sealing adds the same fixed overhead to both sides (nonce, tag, header), left out.
 */
export function measurePaddingCost(cohortOptions: CohortOptions): PaddingCost {
  const cohort = generateCohort(cohortOptions);
  const policy = DEFAULT_BATCH_POLICY;
  const batchBytes = batchPlaintextBytes(policy);
  const records = { blobs: 0, plain: 0, padded: 0 };
  const batches = { blobs: 0, plain: 0, padded: 0 };
  for (const patient of cohort.patients) {
    const result = ingest(patient.emr);
    const byKey = new Map<string, VitalReading[]>();
    for (const reading of result.readings) {
      if (reading.recordKey === undefined) continue;
      const list = byKey.get(reading.recordKey) ?? [];
      list.push(reading);
      byKey.set(reading.recordKey, list);
    }
    for (const record of result.records) {
      const padded = encodeRecord(record, byKey.get(record.key) ?? []);
      records.blobs++;
      records.padded += padded.length;
      records.plain += unpad(padded).length;
    }
    // The stream's readings by cadence period (the reading's time standing for when it was received).
    const twinId = id(`evaluation:padding:${patient.patientId}`);
    const periods = new Map<number, VitalReading[]>();
    for (const reading of ingestWearable(patient.wearable).readings) {
      const period = Math.floor(reading.at / policy.maxAgeMs);
      const list = periods.get(period) ?? [];
      list.push(reading);
      periods.set(period, list);
    }
    for (const readings of periods.values()) {
      for (const batch of splitIntoBatches(readings, policy.maxReadings)) {
        const padded = encodeBatch(prepareBatch(twinId, batch).readings, batchBytes);
        batches.blobs++;
        batches.padded += padded.length;
        batches.plain += unpad(padded).length;
      }
    }
  }
  const streamDays = cohort.options.patients * cohort.options.days;
  const row = (what: string, t: { blobs: number; plain: number; padded: number }, per = 1): PaddingRow => ({
    what,
    blobs: t.blobs / per,
    plainBytes: t.plain / per,
    paddedBytes: t.padded / per,
    ratio: t.padded / t.plain,
  });
  return {
    records: row("EMR records (whole cohort)", records),
    batchesPerStreamDay: row("reading batches, per stream per day", batches, streamDays),
    batchPolicy:
      `the default policy ("${policy.mode}": periods of ${policy.maxAgeMs / 60_000} min, up to ` +
      `${policy.maxReadings} readings a batch, every batch padded to ${batchBytes ?? "a power of two"} bytes); ` +
      `${streamDays} stream-days (one wearable stream per patient, ${cohort.options.patients} patients × ` +
      `${cohort.options.days} day${cohort.options.days === 1 ? "" : "s"}, a reading every ` +
      `${cohort.options.intervalSeconds} s at the finest)`,
  };
}
