import { measureCohortScale, type CohortScaleRun } from "./cohort-scale";
import type { PriceSetting } from "./cost";
import { formatUsd } from "./cost";
import { project, type Projection } from "./projection";

/** Part 7 (issue 12): N twins through the pipeline, and the projection to 1,000,000 patients. */
export interface ScaleOutPart {
  readonly measured: boolean;
  readonly reason: string;
  readonly run: CohortScaleRun | null;
  /** From the run and the gateway's allowed queries/s under autocannon at concurrency 10; null without both. */
  readonly projection: Projection | null;
}

export async function measureScaleOut(
  root: string,
  options: { readonly twins: number; readonly parallel: number; readonly timeoutMs: number },
): Promise<Omit<ScaleOutPart, "projection">> {
  try {
    const run = await measureCohortScale(root, { ...options, intervalSeconds: 60 });
    return { measured: true, reason: "", run };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { measured: false, reason: message, run: null };
  }
}

export function withProjection(
  part: Omit<ScaleOutPart, "projection">,
  gatewayQueriesPerSecond: number | undefined,
  prices: readonly PriceSetting[],
): ScaleOutPart {
  const projection =
    part.run && part.run.twinsIngested > 0 && gatewayQueriesPerSecond !== undefined && gatewayQueriesPerSecond > 0
      ? project(part.run, gatewayQueriesPerSecond, prices)
      : null;
  return { ...part, projection };
}

const n = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits });
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

/** The report's blocks for part 7 (markdown paragraphs and tables). */
export function renderScaleOut(
  part: ScaleOutPart | undefined,
  table: (h: string[], rows: string[][]) => string,
): string[] {
  if (!part) return [];
  const out = ["## 7. Scale-out: many twins through the pipeline, and 1,000,000 patients (issue 12)"];
  if (!part.measured || !part.run) return [...out, `**Not measured**: ${part.reason}.`];
  const r = part.run;
  out.push(
    `${n(r.twins)} twins of the synthetic cohort, each an EMR bundle and a day of one-minute wearable readings, through ` +
      `the custodian's TwinPipeline on Hardhat's in-process network, ${n(r.twinsIngested)} ingested within the run's ` +
      "bound, several twins at a time (writes are serialized per twin). Each twin was created and its two sources " +
      "authorized before the clock started (that setup's gas is given apart). Index on SQLite (the embedded default).",
    table(
      ["figure", "value"],
      [
        ["twins ingested", `${n(r.twinsIngested)} of ${n(r.twins)}`],
        ["records", n(r.records)],
        ["readings", n(r.readings)],
        ["wall s / CPU s", `${r.seconds.toFixed(1)} / ${r.cpuSeconds.toFixed(1)}`],
        ["records/s", r.recordsPerSecond.toFixed(1)],
        ["readings/s", r.readingsPerSecond.toFixed(0)],
        ["peak RSS (RSS before)", `${n(r.peakRssMb)} MB (${n(r.rssBeforeMb)} MB)`],
        ["transactions", n(r.transactions)],
        ["gas per twin per day", n(r.gasPerTwinDay)],
        ["setup gas per twin (once)", n(r.setupGasPerTwin)],
        ["storage per twin per day", mb(r.storageBytesPerTwinDay)],
      ],
    ),
  );
  const p = part.projection;
  if (!p) {
    out.push(
      "No projection: it needs the gateway's capacity under autocannon (part 4) and at least one twin ingested.",
    );
    return out;
  }
  const a = p.assumptions;
  out.push(
    "### Projection to 1,000,000 patients (assumptions, not measurements)",
    `Assumed: ${n(a.patients)} patients, ${a.queriesPerPatientDay} signed queries per patient per day, a peak hour at ` +
      `${a.peakFactor}× the day's mean, gateway processes run at ${Math.round(a.utilization * 100)}% of the capacity ` +
      `measured here (${n(p.gatewayProcessCapacity)} allowed queries/s for one process at concurrency 10), ` +
      `${a.gatewayProcessesPerMachine} gateway processes per 2-core machine, one PostgreSQL machine per ` +
      `${n(a.databaseWritesPerSecond)} access-log appends/s. Each patient's day is the benchmark's day.`,
    table(
      ["figure", "per patient per year", "all patients per year"],
      [
        ["gas", n(p.gasPerPatientYear), n(p.gasPerPatientYear * a.patients)],
        ...p.costPerPatientYear.map((c, i) => [
          `cost at ${c.setting} prices`,
          formatUsd(c.usd),
          formatUsd(p.costPerYearAllPatients[i].usd),
        ]),
        [
          "storage (encrypted blobs, keys, index)",
          mb(p.storageBytesPerPatientYear),
          `${(p.storageBytesAllPatientsYear / 2 ** 40).toFixed(1)} TiB`,
        ],
      ],
    ),
    table(
      ["machines", "count", "from"],
      [
        ["peak queries/s", n(p.peakQueriesPerSecond), "patients × queries a day × peak factor / 86,400"],
        ["gateway processes", n(p.gatewayProcesses), "peak / (capacity × utilization)"],
        ["gateway machines", n(p.gatewayMachines), "processes / processes per machine"],
        ["database machines", n(p.databaseMachines), "peak appends / appends per machine"],
        ["pipeline processes", n(p.pipelineProcesses), "CPU s per twin-day × patients / 86,400 / utilization"],
      ],
    ),
  );
  return out;
}
