import { hexlify, id } from "ethers";
import { buildReadingTree, proveReading } from "../chain/anchors";
import { sealRecord } from "../crypto";
import { generateCohort, ingest, ingestWearable, type CohortOptions } from "../fhir";
import { cidOf, parseCid } from "../store";
import { DataCategory, SourceKind } from "../vocabulary";
import { now, type InProcessChain, type Ledger } from "./chain";
import { viewExecutionGas } from "./meter";
import { linearFit, summarize } from "./stats";
import type { BatchPoint, StoragePart } from "./types";

export interface StorageOptions {
  readonly cohort: CohortOptions;
  /** Envelopes stored in the all-on-chain baseline (a sample; the rest is extrapolated from a linear fit). */
  readonly onChainSample: number;
  /** recordUpdate transactions sent (a sample; the rest is extrapolated from their mean). */
  readonly anchorSample: number;
  /** Batch sizes of the per-reading gas curve. */
  readonly batchSizes: readonly number[];
}

interface Envelope {
  readonly twinId: string;
  readonly kind: "record" | "reading";
  readonly bytes: Uint8Array;
  readonly contentHash: string;
  /** Unix seconds (readings only). */
  readonly at: number;
}

const encoder = new TextEncoder();

/** The cohort: every EMR record and wearable reading, sealed with src/crypto into its real envelope. */
function sealCohort(options: CohortOptions): { envelopes: Envelope[]; twins: string[]; patientDays: number } {
  const cohort = generateCohort(options);
  const envelopes: Envelope[] = [];
  const twins: string[] = [];
  for (const patient of cohort.patients) {
    const twinId = id(`evaluation:storage:${patient.patientId}`);
    twins.push(twinId);
    for (const record of ingest(patient.emr).records) {
      const sealed = sealRecord(
        encoder.encode(JSON.stringify(record.resource)),
        {
          twinId,
          recordKey: record.key,
          category: record.category,
        },
        [],
      );
      envelopes.push({ twinId, kind: "record", bytes: sealed.envelope, contentHash: sealed.contentHash, at: 0 });
    }
    ingestWearable(patient.wearable).readings.forEach((reading, i) => {
      const { sign, value, unit, at, source } = reading;
      const sealed = sealRecord(
        encoder.encode(JSON.stringify({ sign, value, unit, at, source })),
        {
          twinId,
          recordKey: `${reading.recordKey ?? "reading"}#${i}`,
          category: DataCategory.WEARABLE_STREAMS,
        },
        [],
      );
      envelopes.push({
        twinId,
        kind: "reading",
        bytes: sealed.envelope,
        contentHash: sealed.contentHash,
        at: Math.floor(at / 1000),
      });
    });
  }
  return { envelopes, twins, patientDays: cohort.options.patients * cohort.options.days };
}

/** Evenly spread indexes: `count` of `0..length-1`, first and last included. */
export function spread(length: number, count: number): number[] {
  if (count >= length) return Array.from({ length }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - 1)) / Math.max(1, count - 1)));
}

/**
 * Part 2: the same seeded cohort stored three ways (all on chain, one anchor per record, Merkle batches of a
 * patient-day), and the per-reading gas over batch sizes.
 */
export async function measureStorage(
  chain: InProcessChain,
  ledger: Ledger,
  options: StorageOptions,
  tick: (what: string) => void,
): Promise<StoragePart> {
  const { registry, updateLog, baseline, actors } = ledger;
  const { hospital, emr, wearable, patients } = actors;
  tick("sealing the cohort");
  const { envelopes, twins, patientDays } = sealCohort(options.cohort);
  const records = envelopes.filter((e) => e.kind === "record");
  const readings = envelopes.filter((e) => e.kind === "reading");

  tick("creating the cohort's twins");
  for (const [i, twinId] of twins.entries()) {
    const patient = patients[i % patients.length];
    await (await registry.connect(patient).createTwin(twinId, id(`meta:${twinId}`), hospital.address)).wait();
    await (await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, (1 << 13) - 1)).wait();
    await (
      await registry
        .connect(patient)
        .authorizeSource(twinId, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS)
    ).wait();
  }

  // All on chain: a sample of envelopes stored in the baseline, readings and records alike.
  tick("all on chain (sample)");
  const sample = [
    ...spread(readings.length, Math.ceil(options.onChainSample * 0.75)).map((i) => readings[i]),
    ...spread(records.length, Math.floor(options.onChainSample * 0.25)).map((i) => records[i]),
  ];
  const points: [number, number][] = [];
  for (const e of sample) {
    const receipt = await (await baseline.connect(emr).storeRecord(e.twinId, e.bytes)).wait();
    if (!receipt) throw new Error("storeRecord dropped");
    points.push([e.bytes.length, Number(receipt.gasUsed)]);
  }
  const fit = linearFit(points);
  const onChainGas = (e: Envelope) => fit.intercept + fit.slope * e.bytes.length;
  const allOnChainRecords = records.reduce((a, e) => a + onChainGas(e), 0);
  const allOnChainReadings = readings.reduce((a, e) => a + onChainGas(e), 0);

  // One anchor per record: recordUpdate for a sample, the mean applied to every record and reading.
  tick("one anchor per record (sample)");
  const anchorGas: number[] = [];
  for (const i of spread(envelopes.length, options.anchorSample)) {
    const e = envelopes[i];
    const cid = hexlify(parseCid(cidOf(e.bytes)).bytes);
    const category = e.kind === "record" ? DataCategory.CONDITIONS : DataCategory.WEARABLE_STREAMS;
    const receipt = await (await updateLog.connect(emr).recordUpdate(e.twinId, category, e.contentHash, cid)).wait();
    if (!receipt) throw new Error("recordUpdate dropped");
    anchorGas.push(Number(receipt.gasUsed));
  }
  const anchorMean = anchorGas.reduce((a, b) => a + b, 0) / anchorGas.length;

  // Merkle batches: every patient-day of readings anchored as one batch, in full; EMR records one anchor each.
  tick("Merkle batches (cohort, in full)");
  let merkleReadingsGas = 0;
  let merkleBatches = 0;
  const byTwinDay = new Map<string, Envelope[]>();
  for (const e of readings) {
    const key = `${e.twinId}/${Math.floor(e.at / 86_400)}`;
    const list = byTwinDay.get(key) ?? [];
    list.push(e);
    byTwinDay.set(key, list);
  }
  for (const batch of byTwinDay.values()) {
    const tree = buildReadingTree(batch.map((e) => ({ readingHash: e.contentHash, timestamp: e.at })));
    const from = Math.min(...batch.map((e) => e.at));
    const to = Math.max(...batch.map((e) => e.at));
    const receipt = await (
      await updateLog.connect(wearable).anchorBatch(batch[0].twinId, tree.root, batch.length, from, to)
    ).wait();
    if (!receipt) throw new Error("anchorBatch dropped");
    merkleReadingsGas += Number(receipt.gasUsed);
    merkleBatches++;
  }
  const merkleRecordsGas = records.length * anchorMean;

  // The per-reading curve over batch sizes, on a fresh twin.
  tick("batch-size curve");
  const curveTwin = id("evaluation:storage:batch-curve");
  await (await registry.connect(patients[0]).createTwin(curveTwin, id("meta:curve"), hospital.address)).wait();
  await (
    await registry
      .connect(patients[0])
      .authorizeSource(curveTwin, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS)
  ).wait();
  const batchCurve: BatchPoint[] = [];
  const updateLogAddress = await updateLog.getAddress();
  for (const n of options.batchSizes) {
    const end = (await now(chain.provider)) - 1;
    const items = Array.from({ length: n }, (_, i) => ({
      readingHash: id(`evaluation:curve:${n}:${i}`),
      timestamp: end - (n - 1 - i),
    }));
    const t = performance.now();
    const tree = buildReadingTree(items);
    const treeBuildMs = performance.now() - t;
    const t1 = performance.now();
    const receipt = await (
      await updateLog.connect(wearable).anchorBatch(curveTwin, tree.root, n, items[0].timestamp, end)
    ).wait();
    const anchorMs = performance.now() - t1;
    if (!receipt) throw new Error("anchorBatch dropped");
    const probe = items[Math.floor(n / 2)];
    const proof = proveReading(tree, probe.readingHash, probe.timestamp);
    const verifyGas = await viewExecutionGas(
      chain.provider,
      hospital.address,
      updateLogAddress,
      updateLog.interface.encodeFunctionData("verifyReading", [
        curveTwin,
        tree.root,
        probe.readingHash,
        probe.timestamp,
        proof,
      ]),
    );
    const gas = Number(receipt.gasUsed);
    batchCurve.push({
      batchSize: n,
      anchorGas: gas,
      gasPerReading: gas / n,
      proofLength: proof.length,
      verifyGas,
      treeBuildMs,
      anchorMs,
    });
    tick(`batch of ${n}`);
  }

  const sizes = (list: Envelope[]) => summarize(list.map((e) => e.bytes.length));
  const perReadingOnChain = allOnChainReadings / readings.length;
  const at1000 = batchCurve.find((p) => p.batchSize === 1000) ?? batchCurve[batchCurve.length - 1];
  const perReadingMerkle1000 = at1000.gasPerReading;
  const merkleDailyPerReading = merkleReadingsGas / readings.length;

  return {
    cohort: {
      seed: options.cohort.seed,
      patients: options.cohort.patients,
      days: options.cohort.days,
      intervalSeconds: options.cohort.intervalSeconds,
      emrRecords: records.length,
      readings: readings.length,
      patientDays,
      recordEnvelopeBytes: sizes(records),
      readingEnvelopeBytes: sizes(readings),
      totalEnvelopeBytes: envelopes.reduce((a, e) => a + e.bytes.length, 0),
    },
    designs: [
      {
        id: "all-on-chain",
        title: "All on chain (each envelope's bytes in contract storage)",
        totalGas: Math.round(allOnChainRecords + allOnChainReadings),
        gasPerPatientDay: (allOnChainRecords + allOnChainReadings) / patientDays,
        gasPer1000Readings: perReadingOnChain * 1000,
        measuredTransactions: sample.length,
        representedTransactions: envelopes.length,
        method:
          `measured on ${sample.length} envelopes spread over the cohort (${points.length} storeRecord ` +
          `transactions), then extrapolated to all ${envelopes.length} with the linear fit gas = ` +
          `${Math.round(fit.intercept)} + ${fit.slope.toFixed(1)} × bytes`,
      },
      {
        id: "anchor-per-record",
        title: "One anchor per record (TwinUpdateLog.recordUpdate: hash + CID)",
        totalGas: Math.round(anchorMean * envelopes.length),
        gasPerPatientDay: (anchorMean * envelopes.length) / patientDays,
        gasPer1000Readings: anchorMean * 1000,
        measuredTransactions: anchorGas.length,
        representedTransactions: envelopes.length,
        method:
          `measured on ${anchorGas.length} recordUpdate transactions (mean ${Math.round(anchorMean)} gas, ` +
          `min ${Math.min(...anchorGas)}, max ${Math.max(...anchorGas)}), the mean applied to all ${envelopes.length}`,
      },
      {
        id: "merkle-batches",
        title: "Merkle batches (anchorBatch, one per patient-day) + one anchor per EMR record",
        totalGas: Math.round(merkleReadingsGas + merkleRecordsGas),
        gasPerPatientDay: (merkleReadingsGas + merkleRecordsGas) / patientDays,
        gasPer1000Readings: perReadingMerkle1000 * 1000,
        measuredTransactions: merkleBatches,
        representedTransactions: merkleBatches + records.length,
        method:
          `all ${merkleBatches} patient-day batches anchored in full (${Math.round(merkleDailyPerReading * 10) / 10} ` +
          `gas a reading); EMR records at the recordUpdate mean; per 1,000 readings from a batch of ` +
          `${at1000.batchSize}`,
      },
    ],
    onChainFit: { intercept: fit.intercept, gasPerByte: fit.slope, samples: points.length },
    batchCurve,
    ratios: {
      allOnChainOverAnchorPerRecord: perReadingOnChain / anchorMean,
      allOnChainOverMerkle1000: perReadingOnChain / perReadingMerkle1000,
      anchorPerRecordOverMerkle1000: anchorMean / perReadingMerkle1000,
    },
    batchPolicy:
      "for the cohort totals, each patient's readings of one UTC day form one batch; the per-1,000-readings figure " +
      "of the Merkle design is one batch of 1,000 readings",
  };
}
