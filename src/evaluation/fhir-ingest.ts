import { Readable } from "stream";
import { ingestStream } from "../fhir";

/**
 * Benchmark of FHIR ingest at size (issue 11, defect 8): N generated vital-sign Observations of
 * one patient, as one collection Bundle of JSON text (made before the clock starts, as 64 KiB
 * UTF-8 chunks), streamed through `ingestStream` (the streaming parse with limits, then the
 * checks of `ingest`). Reports the wall time and the peak
 * resident set size of the process while it ran. The pipeline target is 20,000 Observations in
 * at most 10 s and 300 MB RSS on a 2-core machine; this measures the ingest part of it.
 */

export interface FhirIngestMeasurement {
  readonly observations: number;
  readonly inputBytes: number;
  readonly records: number;
  readonly readings: number;
  readonly seconds: number;
  /**
   * CPU time of the process (user and system) while it ran, in seconds: steadier than the wall
   * time on a shared machine (it includes the garbage collector's helper threads).
   */
  readonly cpuSeconds: number;
  /** Peak RSS in MB (sampled every 10 ms, and at the end). */
  readonly peakRssMb: number;
  /** RSS in MB before the input was generated. */
  readonly baselineRssMb: number;
}

/** The generated bundle's Patient id. */
export const BENCHMARK_PATIENT_ID = "6d2f7c7e-1a0b-4c55-9d1e-2f0a6b1c3d4e";

const LOINC = "http://loinc.org";
const UCUM = "http://unitsofmeasure.org";
const VITALS = [
  { code: "8867-4", display: "Heart rate", unit: "/min", value: (i: number) => 60 + (i % 40) },
  { code: "59408-5", display: "Oxygen saturation", unit: "%", value: (i: number) => 94 + (i % 6) },
  { code: "8310-5", display: "Body temperature", unit: "Cel", value: (i: number) => 36 + (i % 20) / 10 },
  { code: "9279-1", display: "Respiratory rate", unit: "/min", value: (i: number) => 12 + (i % 8) },
] as const;

/** The Bundle text, produced a chunk at a time (the whole text is never one string). */
export function* bundleChunks(count: number, patientId: string): Generator<string> {
  yield `{"resourceType":"Bundle","type":"collection","entry":[`;
  yield JSON.stringify({
    fullUrl: `urn:uuid:${patientId}`,
    resource: { resourceType: "Patient", id: patientId, gender: "female", birthDate: "1970-01-01" },
  });
  const start = Date.UTC(2024, 0, 1);
  let chunk = "";
  for (let i = 0; i < count; i++) {
    const vital = VITALS[i % VITALS.length];
    const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
    const observation = {
      resourceType: "Observation",
      id,
      status: "final",
      category: [
        { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "vital-signs" }] },
      ],
      code: { coding: [{ system: LOINC, code: vital.code, display: vital.display }] },
      subject: { reference: `urn:uuid:${patientId}` },
      effectiveDateTime: new Date(start + i * 60_000).toISOString(),
      valueQuantity: { value: vital.value(i), unit: vital.unit, system: UCUM, code: vital.unit },
    };
    chunk += `,${JSON.stringify({ fullUrl: `urn:uuid:${id}`, resource: observation })}`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = "";
    }
  }
  yield `${chunk}]}`;
}

/** Ingests `count` generated Observations through the streaming parser and `ingest`'s checks. */
export async function measureFhirIngest(count = 20_000): Promise<FhirIngestMeasurement> {
  const patientId = BENCHMARK_PATIENT_ID;
  const baselineRssMb = process.memoryUsage().rss / 2 ** 20;
  // The input is made before the clock starts (as bytes, the way it comes off a socket or a file):
  // the benchmark measures ingest, not the generator.
  const chunks = [...bundleChunks(count, patientId)].map((chunk) => Buffer.from(chunk, "utf8"));
  const inputBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    const result = await ingestStream(Readable.from(chunks), { patient: `Patient/${patientId}` });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    peak = Math.max(peak, process.memoryUsage().rss);
    return {
      observations: count,
      inputBytes,
      records: result.records.length,
      readings: result.readings.length,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      peakRssMb: peak / 2 ** 20,
      baselineRssMb,
    };
  } finally {
    clearInterval(sampler);
  }
}
