import { bundlePoint, int, ms, table, usdCells } from "./report-format";
import type { EvaluationResult } from "./types";
import { V1_EMR_BUNDLE_22 } from "./v1";

/** The report's blocks for part 2: storage cost (the cohort stored three ways, the batch curves, padding's cost). */
export function renderStoragePart(result: EvaluationResult): string[] {
  const { prices, storage } = result;
  const out: string[] = [];
  const p = (...blocks: string[]) => void out.push(...blocks);
  const c = storage.cohort;
  p(
    "## 2. Storage cost",
    `The same seeded synthetic cohort (generateCohort, seed ${c.seed}: ${c.patients} patients × ${c.days} day${c.days === 1 ? "" : "s"}, ` +
      `readings every ${c.intervalSeconds} s at the finest) ingested from FHIR and sealed with src/crypto ` +
      `(sealRecord: AES-256-GCM envelopes, the real bytes): ${int(c.emrRecords)} EMR records (envelopes ` +
      `${int(c.recordEnvelopeBytes.min)} to ${int(c.recordEnvelopeBytes.max)} bytes, median ${int(c.recordEnvelopeBytes.p50)}) ` +
      `and ${int(c.readings)} wearable readings, each sealed alone (envelopes median ${int(c.readingEnvelopeBytes.p50)} bytes); ` +
      `${int(c.totalEnvelopeBytes)} bytes in all, ${int(c.patientDays)} patient-days. Stored three ways. The all-on-chain ` +
      "design stores only the envelope; the wrapped keys (103 bytes per reader, 87 in format v1) would add to it.",
    table(
      [
        "design",
        "total gas",
        "gas per patient-day",
        ...prices.map((s) => `USD per patient-day (${s.name})`),
        "gas per 1,000 readings",
        ...prices.map((s) => `USD per 1,000 readings (${s.name})`),
      ],
      storage.designs.map((d) => [
        d.title,
        int(d.totalGas),
        int(d.gasPerPatientDay),
        ...usdCells(d.gasPerPatientDay, prices),
        int(d.gasPer1000Readings),
        ...usdCells(d.gasPer1000Readings, prices),
      ]),
    ),
    "How each total was obtained:",
    ...storage.designs.map((d) => `- **${d.id}**: ${d.method}.`),
    `- Batching: ${storage.batchPolicy}.`,
  );
  p(
    "Ratios of gas per reading (at 1,000 readings a batch for the Merkle design):",
    table(
      ["comparison", "ratio"],
      [
        ["all on chain / one anchor per record", `${storage.ratios.allOnChainOverAnchorPerRecord.toFixed(1)}×`],
        ["all on chain / Merkle batch of 1,000", `${int(storage.ratios.allOnChainOverMerkle1000)}×`],
        ["one anchor per record / Merkle batch of 1,000", `${int(storage.ratios.anchorPerRecordOverMerkle1000)}×`],
        ...(bundlePoint(storage.recordCurve, 22)
          ? [
              [
                "EMR bundle of 22: 22 recordUpdates (v1's ingest) / one anchorRecords (v2)",
                `${bundlePoint(storage.recordCurve, 22)!.ratio.toFixed(1)}×`,
              ],
            ]
          : []),
      ],
    ),
    `All-on-chain fit from ${storage.onChainFit.samples} stored envelopes: gas ≈ ${int(storage.onChainFit.intercept)} + ` +
      `${storage.onChainFit.gasPerByte.toFixed(1)} × bytes (storage is 20,000 gas per new 32-byte slot, 625 gas a byte, plus calldata and the event).`,
  );
  p(
    "### Per-reading gas over batch sizes",
    "![per-reading gas over batch size](storage-batch-curve.svg)",
    table(
      [
        "readings per batch",
        "anchorBatch gas",
        "gas per reading",
        ...prices.map((s) => `USD per reading (${s.name})`),
        "proof (hashes)",
        "verifyReading gas",
        "tree build (ms)",
      ],
      storage.batchCurve.map((b) => [
        int(b.batchSize),
        int(b.anchorGas),
        b.gasPerReading < 100 ? b.gasPerReading.toFixed(2) : int(b.gasPerReading),
        ...usdCells(b.gasPerReading, prices),
        String(b.proofLength),
        int(b.verifyGas),
        ms(b.treeBuildMs),
      ]),
    ),
  );

  if (storage.recordCurve.length > 0) {
    const b22 = bundlePoint(storage.recordCurve, 22);
    p(
      "### Per-record gas over EMR bundle sizes (record batches, new in v2)",
      "One EMR ingest is one `anchorRecords` in v2: the Merkle root of the bundle's record commitments (category, " +
        "content hash, CID hash), hash-chained like updates, each record provable alone with `verifyRecord`. v1 " +
        "anchored each record with its own `recordUpdate`. Both sides on the same twin, log head already written. " +
        "Issue 9's target: any bundle in at most 120,000 gas." +
        (b22
          ? ` A 22-record bundle: ${int(b22.anchorRecordsGas)} gas against ${int(b22.recordUpdatesGas)} ` +
            `(${b22.ratio.toFixed(1)}×; v1's pipeline: ${int(V1_EMR_BUNDLE_22)} as issue 9 quotes it).`
          : "") +
        (storage.cohortBundleGas.length > 0
          ? ` The cohort's ${storage.cohortBundleGas.length} bundles (${int(storage.cohort.emrRecords)} records): ` +
            `${int(Math.min(...storage.cohortBundleGas))} to ${int(Math.max(...storage.cohortBundleGas))} gas each.`
          : ""),
      table(
        [
          "records per bundle",
          "anchorRecords gas (v2)",
          "recordUpdate per record (v1)",
          "v1 / v2",
          "v2 gas per record",
          ...prices.map((s) => `USD per bundle, v2 (${s.name})`),
          "proof (hashes)",
          "verifyRecord gas",
          "tree build (ms)",
        ],
        storage.recordCurve.map((b) => [
          int(b.records),
          int(b.anchorRecordsGas),
          `${b.recordUpdatesMeasured ? "" : "~"}${int(b.recordUpdatesGas)}`,
          `${b.ratio.toFixed(1)}×`,
          int(b.anchorRecordsGas / b.records),
          ...usdCells(b.anchorRecordsGas, prices),
          String(b.proofLength),
          int(b.verifyGas),
          ms(b.treeBuildMs),
        ]),
      ),
      "A `~` marks a one-recordUpdate-per-record figure extrapolated from the mean of those sent at smaller sizes.",
    );
  }

  if (result.padding) {
    const pc = result.padding;
    p(
      "### Padding's storage cost (issue 10)",
      "Every plaintext is padded before it is sealed, so that a blob's size does not tell what it holds: EMR records " +
        "to their Padmé bucket above a 512-byte floor, reading batches to the batch policy's one fixed size. Bytes of " +
        "the plaintexts before and after padding (sealing adds the same fixed overhead to both). Batches: " +
        `${pc.batchPolicy}.`,
      table(
        ["blobs", "count", "bytes unpadded", "bytes padded", "padded / unpadded"],
        [pc.records, pc.batchesPerStreamDay].map((r) => [
          r.what,
          r.blobs < 100 && !Number.isInteger(r.blobs) ? r.blobs.toFixed(1) : int(r.blobs),
          int(r.plainBytes),
          int(r.paddedBytes),
          `${r.ratio.toFixed(2)}×`,
        ]),
      ),
    );
  }

  return out;
}
