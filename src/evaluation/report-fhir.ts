import { FHIR_BEFORE } from "./fhir-before";
import type { FhirAtSize, FhirPipelineRun, TargetVerdict } from "./types";

/** A markdown table renderer (report.ts `table`), passed in so that this module does not import the report. */
type Table = (header: readonly string[], rows: readonly (readonly string[])[]) => string;

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const int = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : Math.round(x).toLocaleString("en-US");

/** The FHIR size target (issue 11, defect 8): judged only on a run at the target's size. */
export function judgeFhirAtSize(fhir: FhirAtSize): TargetVerdict {
  const target =
    "20,000 vital-sign Observations (one collection Bundle) through the pipeline in ≤ 10 s and ≤ 300 MB RSS (issue 11)";
  const p = fhir.pipeline;
  if (!fhir.measured || p === null) {
    return { id: "fhir-20k", target, measured: `not measured: ${fhir.reason}`, verdict: "not measured" };
  }
  const measured =
    `${int(fhir.observations)} Observations: ${f1(p.seconds)} s wall, ${f1(p.cpuSeconds)} s CPU, peak RSS ` +
    `${int(p.peakRssMb)} MB (${int(p.rssBeforeMb)} MB before the ingest, Hardhat's runtime and chain included), ` +
    `${int(p.records)} records anchored in one anchorRecords of ${int(p.anchorGas ?? NaN)} gas` +
    (p.loadAverage !== undefined ? `, machine load average ${f1(p.loadAverage)} at the start` : "") +
    (fhir.ingest ? `; the streamed ingest alone ${f2(fhir.ingest.seconds)} s` : "");
  if (!fhir.judged) return { id: "fhir-20k", target, measured, verdict: "quick mode: not judged" };
  return {
    id: "fhir-20k",
    target,
    measured,
    verdict: p.seconds <= 10 && p.peakRssMb <= 300 && p.records >= fhir.observations ? "met" : "missed",
  };
}

/** The FHIR size benchmark's measured runs, labelled. */
function fhirRuns(fa: FhirAtSize): { label: string; run: FhirPipelineRun }[] {
  const rows: { label: string; run: FhirPipelineRun }[] = [];
  if (fa.ingest) rows.push({ label: "ingest alone (streamed)", run: fa.ingest });
  if (fa.pipeline) rows.push({ label: "whole pipeline", run: fa.pipeline });
  const before = FHIR_BEFORE[fa.observations];
  if (fa.pipeline && before?.recorded) rows.push({ label: `whole pipeline, ${before.recorded}`, run: before });
  return rows;
}

/** The report's blocks for part 6 (issue 11, defect 8): FHIR ingest at size. */
export function renderFhirAtSize(fa: FhirAtSize | undefined, table: Table): string[] {
  if (!fa) return [];
  const out = ["## 6. FHIR ingest at size (issue 11)"];
  if (!fa.measured) return [...out, `**Not measured**: ${fa.reason}.`];
  return [
    ...out,
    `One Patient and ${int(fa.observations)} generated vital-sign Observations as one collection Bundle ` +
      "(JSON text, made before the clock starts). **Ingest alone**: streamed through `ingestStream` (the " +
      "streaming parse with limits, then the checks). **Pipeline**: `TwinPipeline.ingestEmr` on Hardhat's " +
      "in-process network: parse and checks, every record encoded, padded and sealed for the custodian and the " +
      "patient into a local blob folder (no fsync), one anchorRecords transaction, the twin engine and the version " +
      "commit. Each in its own Node process: the peak RSS is the process's high-water mark, Hardhat's runtime and " +
      "chain included for the pipeline (the RSS just before the ingest is given beside it). Target: 20,000 " +
      "Observations in at most 10 s and 300 MB RSS on this machine. The load average is the machine's 1-minute " +
      "load when the run started: the 2 cores are shared, and wall time grows with it (CPU time much less). A " +
      "recorded row is the same run before the size work, measured earlier back to back with this code " +
      "(src/evaluation/fhir-before.ts), not by this evaluation." +
      (fa.judged ? "" : " **Quick mode**: fewer Observations than the target's, not judged."),
    table(
      [
        "run",
        "records",
        "input (MB)",
        "wall s",
        "CPU s",
        "peak RSS (MB)",
        "RSS before (MB)",
        "anchorRecords gas",
        "load avg",
      ],
      fhirRuns(fa).map(({ label, run: r }) => [
        label,
        int(r.records),
        (r.inputBytes / 2 ** 20).toFixed(1),
        r.seconds.toFixed(2),
        r.cpuSeconds.toFixed(2),
        int(r.peakRssMb),
        int(r.rssBeforeMb),
        r.anchorGas === null ? "" : int(r.anchorGas),
        r.loadAverage === undefined ? "" : r.loadAverage.toFixed(1),
      ]),
    ),
  ];
}
