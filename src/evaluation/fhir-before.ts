import type { FhirPipelineRun } from "./types";

/**
 * The FHIR-at-size pipeline run (fhir-pipeline.ts) before the size work of issue 11, recorded: commit 592bf8c (the
 * library's Merkle trees, each record batch's tree built twice, whole-size copies of the sealed index, every record
 * of the ingest held until all were stored). Measured on this machine on 2026-11-30 by the same child at the same
 * input, each run back to back with one of this code's, the 1-minute load average noted (the machine's 2 cores were
 * shared with up to 7 other jobs). The report shows it beside the evaluation's own run of the same size, so that a
 * reader compares the two with their loads in view; it is never judged.
 */
export const FHIR_BEFORE: Readonly<Partial<Record<number, FhirPipelineRun>>> = {
  2000: {
    records: 2001,
    readings: 2000,
    inputBytes: 1_175_040,
    seconds: 11.66,
    cpuSeconds: 3.92,
    peakRssMb: 418.3,
    rssBeforeMb: 323.8,
    anchorGas: 79_051,
    loadAverage: 19.24,
    recorded: "recorded before the size work (592bf8c)",
  },
  20000: {
    records: 20_001,
    readings: 20_000,
    inputBytes: 11_748_240,
    seconds: 44.76,
    cpuSeconds: 29.9,
    peakRssMb: 873.0,
    rssBeforeMb: 341.1,
    anchorGas: 79_051,
    loadAverage: 4.78,
    recorded: "recorded before the size work (592bf8c)",
  },
};
