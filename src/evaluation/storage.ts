import { hexlify, id } from "ethers";
import {
  buildReadingTree,
  buildRecordTree,
  cidHashOf,
  proveReading,
  proveRecord,
  recordsAnchorOf,
} from "../chain/anchors";
import { twinIdOf } from "../chain/twin-id";
import { sealRecord } from "../crypto";
import { generateCohort, ingest, ingestWearable, type CohortOptions } from "../fhir";
import { cidOf, parseCid } from "../store";
import { ALL_CATEGORIES, DataCategory, SourceKind } from "../vocabulary";
import { now, type InProcessChain, type Ledger } from "./chain";
import { syntheticRecords } from "./gas";
import { viewExecutionGas } from "./meter";
import { linearFit, summarize } from "./stats";
import type { BatchPoint, RecordBatchPoint, StoragePart } from "./types";

export interface StorageOptions {
  readonly cohort: CohortOptions;
  /** Envelopes stored in the all-on-chain baseline (a sample; the rest is extrapolated from a linear fit). */
  readonly onChainSample: number;
  /** recordUpdate transactions sent (a sample; the rest is extrapolated from their mean). */
  readonly anchorSample: number;
  /** Batch sizes of the per-reading gas curve. */
  readonly batchSizes: readonly number[];
  /** Records per EMR bundle of the record-batch curve (anchorRecords against one recordUpdate per record). */
  readonly recordBatchSizes: readonly number[];
}

/** Up to this many records, the one-recordUpdate-per-record side of the record-batch curve is sent in full. */
export const RECORD_UPDATES_MEASURED_UP_TO = 100;

interface Envelope {
  readonly twinId: string;
  readonly kind: "record" | "reading";
  readonly bytes: Uint8Array;
  readonly contentHash: string;
  /** The record's one DataCategory bit (WEARABLE_STREAMS for readings). */
  readonly category: number;
  /** Unix seconds (readings only). */
  readonly at: number;
}

const encoder = new TextEncoder();
const int = (x: number) => Math.round(x).toLocaleString("en-US");

/**
 * The cohort: every EMR record and wearable reading, sealed with src/crypto into its real envelope. `twinIdFor` gives
 * the id of the i-th cohort patient's twin (ids are derived on chain from the owner and a salt).
 */
function sealCohort(
  options: CohortOptions,
  twinIdFor: (index: number, patientId: string) => string,
): { envelopes: Envelope[]; twins: string[]; patientDays: number } {
  const cohort = generateCohort(options);
  const envelopes: Envelope[] = [];
  const twins: string[] = [];
  for (const [index, patient] of cohort.patients.entries()) {
    const twinId = twinIdFor(index, patient.patientId);
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
      envelopes.push({
        twinId,
        kind: "record",
        bytes: sealed.envelope,
        contentHash: sealed.contentHash,
        category: record.category,
        at: 0,
      });
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
        category: DataCategory.WEARABLE_STREAMS,
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
 * Part 2: the same seeded cohort stored three ways (all on chain, one anchor per record, Merkle batches: a
 * patient-day of readings and a patient's EMR bundle per root), the per-reading gas over batch sizes and the
 * per-record gas over EMR bundle sizes.
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
  const saltOf = (patientId: string) => id(`evaluation:storage:${patientId}`);
  const ownerOf = (index: number) => patients[index % patients.length];
  const salts: string[] = [];
  const { envelopes, twins, patientDays } = sealCohort(options.cohort, (index, patientId) => {
    salts.push(saltOf(patientId));
    return twinIdOf(ownerOf(index).address, saltOf(patientId));
  });
  const records = envelopes.filter((e) => e.kind === "record");
  const readings = envelopes.filter((e) => e.kind === "reading");

  tick("creating the cohort's twins");
  for (const [i, twinId] of twins.entries()) {
    const patient = ownerOf(i);
    await (await registry.connect(patient).createTwin(salts[i], id(`meta:${twinId}`), hospital.address)).wait();
    await (await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, ALL_CATEGORIES)).wait();
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

  // Merkle batches: every patient-day of readings anchored as one batch, every patient's EMR bundle as one record
  // batch (v2's anchorRecords, one transaction per ingest), all in full.
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
    const receipt = await (await updateLog.connect(wearable).anchorBatch(batch[0].twinId, tree.root)).wait();
    if (!receipt) throw new Error("anchorBatch dropped");
    merkleReadingsGas += Number(receipt.gasUsed);
    merkleBatches++;
  }
  let merkleRecordsGas = 0;
  const bundleGas: number[] = [];
  for (const twinId of twins) {
    const bundle = records.filter((e) => e.twinId === twinId);
    if (bundle.length === 0) continue;
    const tree = buildRecordTree(
      bundle.map((e) => ({ category: e.category, contentHash: e.contentHash, cid: parseCid(cidOf(e.bytes)).bytes })),
    );
    const anchor = recordsAnchorOf(tree);
    const receipt = await (
      await updateLog.connect(emr).anchorRecords(twinId, anchor.recordsRoot, anchor.categories)
    ).wait();
    if (!receipt) throw new Error("anchorRecords dropped");
    merkleRecordsGas += Number(receipt.gasUsed);
    bundleGas.push(Number(receipt.gasUsed));
  }

  // The per-reading curve over batch sizes, on a fresh twin.
  tick("batch-size curve");
  const curveSalt = id("evaluation:storage:batch-curve");
  const curveTwin = twinIdOf(patients[0].address, curveSalt);
  await (await registry.connect(patients[0]).createTwin(curveSalt, id("meta:curve"), hospital.address)).wait();
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
    const receipt = await (await updateLog.connect(wearable).anchorBatch(curveTwin, tree.root)).wait();
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
        wearable.address,
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

  // The per-record curve over EMR bundle sizes, on a fresh twin whose log head is already written (the typical
  // path of both sides): one anchorRecords per bundle against one recordUpdate per record.
  tick("record-batch curve");
  const recordSalt = id("evaluation:storage:record-curve");
  const recordTwin = twinIdOf(patients[0].address, recordSalt);
  await (await registry.connect(patients[0]).createTwin(recordSalt, id("meta:record-curve"), hospital.address)).wait();
  await (
    await registry.connect(patients[0]).authorizeSource(recordTwin, emr.address, SourceKind.Emr, ALL_CATEGORIES)
  ).wait();
  const warm = syntheticRecords("evaluation:storage:record-curve:warm", 1)[0];
  await (await updateLog.connect(emr).recordUpdate(recordTwin, warm.category, warm.contentHash, warm.cid)).wait();
  const recordCurve: RecordBatchPoint[] = [];
  const singleGas: number[] = [];
  for (const n of options.recordBatchSizes) {
    const items = syntheticRecords(`evaluation:storage:record-curve:${n}`, n);
    const t = performance.now();
    const tree = buildRecordTree(items);
    const treeBuildMs = performance.now() - t;
    const anchor = recordsAnchorOf(tree);
    const receipt = await (
      await updateLog.connect(emr).anchorRecords(recordTwin, anchor.recordsRoot, anchor.categories)
    ).wait();
    if (!receipt) throw new Error("anchorRecords dropped");
    const measured = n <= RECORD_UPDATES_MEASURED_UP_TO;
    let updatesGas = 0;
    if (measured) {
      for (const item of items) {
        const single = await (
          await updateLog.connect(emr).recordUpdate(recordTwin, item.category, item.contentHash, item.cid)
        ).wait();
        if (!single) throw new Error("recordUpdate dropped");
        updatesGas += Number(single.gasUsed);
        singleGas.push(Number(single.gasUsed));
      }
    } else {
      updatesGas = (n * singleGas.reduce((a, b) => a + b, 0)) / Math.max(1, singleGas.length);
    }
    const probe = items[Math.floor(n / 2)];
    const proof = proveRecord(tree, probe);
    const verifyGas = await viewExecutionGas(
      chain.provider,
      hospital.address,
      updateLogAddress,
      updateLog.interface.encodeFunctionData("verifyRecord", [
        recordTwin,
        emr.address,
        anchor.recordsRoot,
        probe.category,
        probe.contentHash,
        cidHashOf(probe.cid),
        proof,
      ]),
    );
    const gas = Number(receipt.gasUsed);
    recordCurve.push({
      records: n,
      anchorRecordsGas: gas,
      recordUpdatesGas: Math.round(updatesGas),
      recordUpdatesMeasured: measured,
      ratio: updatesGas / gas,
      proofLength: proof.length,
      verifyGas,
      treeBuildMs,
    });
    tick(`bundle of ${n}`);
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
        title:
          "Merkle batches (anchorBatch, one per patient-day) + one record batch per EMR bundle (anchorRecords; v1: one recordUpdate per record)",
        totalGas: Math.round(merkleReadingsGas + merkleRecordsGas),
        gasPerPatientDay: (merkleReadingsGas + merkleRecordsGas) / patientDays,
        gasPer1000Readings: perReadingMerkle1000 * 1000,
        measuredTransactions: merkleBatches + bundleGas.length,
        representedTransactions: merkleBatches + bundleGas.length,
        method:
          `all ${merkleBatches} patient-day batches anchored in full (${Math.round(merkleDailyPerReading * 10) / 10} ` +
          `gas a reading); the ${records.length} EMR records as ${bundleGas.length} record batches, one per patient's ` +
          `bundle, anchored in full (${int(Math.min(...bundleGas))} to ${int(Math.max(...bundleGas))} gas a bundle; ` +
          `one recordUpdate per record would cost ${int(records.length * anchorMean)} at the recordUpdate mean); ` +
          `per 1,000 readings from a batch of ${at1000.batchSize}`,
      },
    ],
    onChainFit: { intercept: fit.intercept, gasPerByte: fit.slope, samples: points.length },
    batchCurve,
    recordCurve,
    cohortBundleGas: bundleGas,
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
