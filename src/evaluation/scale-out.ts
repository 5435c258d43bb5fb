import { ANVIL_STATES_KEPT, measureCohortScale, type CohortScaleRun } from "./cohort-scale";
import { startEvaluationPostgres } from "./embedded-postgres";
import type { PriceSetting } from "./cost";
import { formatUsd } from "./cost";
import { project, type Projection } from "./projection";

/** Part 7 (issue 12): N twins through the pipeline, and the projection to 1,000,000 patients. */
export interface ScaleOutPart {
  readonly measured: boolean;
  readonly reason: string;
  /** The pipeline's index on SQLite (the embedded default); the projection's basis. */
  readonly run: CohortScaleRun | null;
  /** The same twins with the pipeline's index on PostgreSQL; null when not measured (`postgresReason` says why). */
  readonly postgres: CohortScaleRun | null;
  readonly postgresReason: string;
  /** Where PostgreSQL came from: "embedded" (embedded-postgres, started by the run) or "DATABASE_URL". */
  readonly postgresSource: string;
  /** From the run and the gateway's allowed queries/s under autocannon at concurrency 10; null without both. */
  readonly projection: Projection | null;
}

/** The same N twins through the pipeline twice, each in its own process: index on SQLite, then on PostgreSQL. */
export async function measureScaleOut(
  root: string,
  options: { readonly twins: number; readonly parallel: number; readonly timeoutMs: number },
  tick: (what: string) => void = () => undefined,
): Promise<Omit<ScaleOutPart, "projection">> {
  // A child's failure: the last line of its stderr (the error it printed), else the first of the message.
  const firstLine = (error: unknown) => {
    const stderr = (error as { stderr?: unknown }).stderr;
    const last = typeof stderr === "string" ? stderr.trim().split("\n").pop() : undefined;
    return last || (error instanceof Error ? error.message.split("\n")[0] : String(error));
  };
  let run: CohortScaleRun | null = null;
  let reason = "";
  try {
    tick("index on SQLite");
    run = await measureCohortScale(root, { ...options, intervalSeconds: 60 });
  } catch (error) {
    reason = firstLine(error);
  }
  let postgres: CohortScaleRun | null = null;
  let postgresReason = "";
  let postgresSource = "";
  try {
    tick("starting PostgreSQL");
    const server = await startEvaluationPostgres();
    postgresSource = server.source;
    try {
      tick("index on PostgreSQL");
      const databaseUrl = await server.database("cohort_scale");
      postgres = await measureCohortScale(root, { ...options, intervalSeconds: 60, databaseUrl });
    } finally {
      await server.stop();
    }
  } catch (error) {
    postgresReason = firstLine(error);
  }
  return { measured: run !== null, reason, run, postgres, postgresReason, postgresSource };
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

/** The runs side by side (SQLite, then PostgreSQL when measured). */
function runsTable(runs: readonly CohortScaleRun[], table: (h: string[], rows: string[][]) => string): string {
  const row = (label: string, f: (r: CohortScaleRun) => string) => [label, ...runs.map(f)];
  return table(
    ["figure", ...runs.map((x) => (x.backend === "postgres" ? "PostgreSQL" : "SQLite"))],
    [
      row("twins ingested", (x) => `${n(x.twinsIngested)} of ${n(x.twins)}`),
      row("records", (x) => n(x.records)),
      row("readings", (x) => n(x.readings)),
      row("wall s / CPU s", (x) => `${x.seconds.toFixed(1)} / ${x.cpuSeconds.toFixed(1)}`),
      row("records/s", (x) => x.recordsPerSecond.toFixed(1)),
      row("readings/s", (x) => x.readingsPerSecond.toFixed(0)),
      row("peak RSS (RSS before)", (x) => `${n(x.peakRssMb)} MB (${n(x.rssBeforeMb)} MB)`),
      row("JS heap held after the ingest", (x) => (x.heapAfterMb === undefined ? "–" : `${n(x.heapAfterMb)} MB`)),
      row("node's peak RSS", (x) => (x.nodePeakRssMb == null ? "–" : `${n(x.nodePeakRssMb)} MB (anvil)`)),
      row("transactions", (x) => n(x.transactions)),
      row("gas per twin per day", (x) => n(x.gasPerTwinDay)),
      row("setup gas per twin (once)", (x) => n(x.setupGasPerTwin)),
      row("storage per twin per day", (x) => mb(x.storageBytesPerTwinDay)),
      row("setup s / whole run s", (x) =>
        x.setupSeconds === undefined || x.childSeconds === undefined
          ? "–"
          : `${x.setupSeconds.toFixed(1)} / ${x.childSeconds.toFixed(1)}`,
      ),
    ],
  );
}

/** The report's blocks for part 7 (markdown paragraphs and tables). */
export function renderScaleOut(
  part: ScaleOutPart | undefined,
  table: (h: string[], rows: string[][]) => string,
): string[] {
  if (!part) return [];
  const out = ["## 7. Scale-out: many twins through the pipeline, and 1,000,000 patients (issue 12)"];
  if (!part.measured || !part.run) return [...out, `**Not measured**: ${part.reason}.`];
  const runs = [part.run, part.postgres].filter((r): r is CohortScaleRun => r !== null);
  const r = part.run;
  const onAnvil = runs.every((x) => x.chain === "anvil");
  const compiled = runs.every((x) => x.runtime === "compiled");
  out.push(
    `${n(r.twins)} twins of the synthetic cohort, each an EMR bundle and a day of one-minute wearable readings, through ` +
      `the custodian's TwinPipeline ${onAnvil ? `over JSON-RPC to anvil, a node in its own process on 127.0.0.1 (its peak RSS given apart; the states of its last ${n(ANVIL_STATES_KEPT)} blocks kept, as an ingest reads only the head)` : "on Hardhat's in-process network"}, ` +
      `${n(r.parallel ?? 4)} twins at a time (writes are serialized per twin), each run in its own process ` +
      `(${compiled ? "compiled with esbuild, no ts-node compiler or Hardhat runtime in it" : "TypeScript through ts-node"}): ` +
      "once with the pipeline's index on SQLite (the embedded default), once " +
      `on PostgreSQL (${part.postgres ? (part.postgresSource === "embedded" ? "embedded-postgres started by the run, fsync off like the SQLite run" : "the server of DATABASE_URL") : "not measured"}); ` +
      "blobs and wrapped keys are folders either way. Each twin was created and its two sources authorized before the " +
      "clock started (several patients' transactions in flight; that setup's gas is given apart). The cohort is " +
      `generated ${n(r.generatedAtOnce ?? 50)} patients at a time with the clock stopped (the same patients as the whole cohort of the seed), so ` +
      "the figures are the pipeline's alone and the process never holds the whole cohort. The two runs are sequential " +
      "on the same shared 2-core machine (other work ran beside them: timings are noisy).",
    runsTable(runs, table),
  );
  const held = r.heapAfterMb !== undefined && r.twinsIngested > 0 ? r.heapAfterMb / r.twinsIngested : null;
  if (held !== null) {
    out.push(
      `The pipeline keeps every twin it has ingested in memory (its engine with the twin's records and readings, in ` +
        "PipelineContext's map of twins, with no eviction of idle twins; the reading batches' trees kept for proofs " +
        `are bounded for all twins together): about ${held.toFixed(1)} MB of JS heap per twin-day here, after a full ` +
        "collection, so a process's memory grows with the twins it serves. A service for 1,000,000 patients shards " +
        "twins over pipeline processes (the projection's pipeline processes) or needs idle twins evicted and rebuilt " +
        "on demand from their blobs (restore.ts already rebuilds a twin from its index).",
    );
  }
  if (!part.postgres) out.push(`PostgreSQL run not measured: ${part.postgresReason || "no reason given"}.`);
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
