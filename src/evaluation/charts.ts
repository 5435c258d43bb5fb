import { barChart, lineChart, type Series } from "./svg";
import type { EvaluationResult } from "./types";

/** One chart to write: its file name under the reports folder, its title and its SVG text. */
export interface Chart {
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

/** The report's charts, from the measured figures only. */
export function buildCharts(
  result: Pick<EvaluationResult, "storage" | "timing" | "network" | "scaling" | "gas">,
): Chart[] {
  const charts: Chart[] = [];
  const add = (file: string, title: string, svg: string) => charts.push({ file, title, svg });
  const { storage, timing, network, scaling, gas } = result;

  const curve = storage.batchCurve;
  const flat = (name: string, perReading: number): Series => ({
    name,
    points: curve.map((b) => ({ x: b.batchSize, y: perReading })),
  });
  const onChain = storage.designs.find((d) => d.id === "all-on-chain");
  const perRecord = storage.designs.find((d) => d.id === "anchor-per-record");
  const curveTitle = "Gas per reading by batch size";
  add(
    "storage-batch-curve.svg",
    curveTitle,
    lineChart({
      title: curveTitle,
      xLabel: "readings per batch",
      yLabel: "gas per reading",
      logX: true,
      logY: true,
      series: [
        ...(onChain ? [flat("all on chain (extrapolated)", onChain.gasPer1000Readings / 1000)] : []),
        ...(perRecord ? [flat("one anchor per record", perRecord.gasPer1000Readings / 1000)] : []),
        { name: "Merkle batch (anchorBatch)", points: curve.map((b) => ({ x: b.batchSize, y: b.gasPerReading })) },
      ],
    }),
  );

  const fnTitle = "Average gas per function";
  add(
    "gas-functions.svg",
    fnTitle,
    barChart({
      title: fnTitle,
      valueLabel: "gas (average over the evaluation's calls)",
      bars: gas.functions.map((f) => ({ label: `${f.contract.replace("Twin", "")}.${f.method}`, value: f.avg })),
    }),
  );

  const offTitle = "Off-chain operations: mean ms per call (and the paper's figures)";
  add(
    "timing-offchain.svg",
    offTitle,
    barChart({
      title: offTitle,
      valueLabel: "milliseconds",
      logScale: true,
      bars: [
        ...timing.offChain.map((o) => ({ label: o.id, value: o.ms.mean })),
        ...timing.offChain
          .filter((o) => o.paper)
          .map((o) => ({ label: `paper: ${o.paper?.what.split(" (")[0]}`, value: o.paper?.ms ?? NaN })),
      ],
    }),
  );

  const capacity = network.gateway.capacity ?? [];
  if (network.gateway.runs.length || capacity.length) {
    const gwTitle = "Gateway query latency by concurrency";
    add(
      "network-gateway.svg",
      gwTitle,
      lineChart({
        title: gwTitle,
        xLabel: "concurrent clients",
        yLabel: "ms per query",
        logX: true,
        series: [
          ...(["p50", "p99"] as const).map((k) => ({
            name: `end to end ${k}`,
            points: network.gateway.runs.map((r) => ({ x: r.concurrency, y: r.ms[k] })),
          })),
          ...(["p50", "p99"] as const).map((k) => ({
            name: `under load (pre-signed), HTTP ${k}`,
            points: capacity.map((r) => ({ x: r.concurrency, y: r.ms[k] })),
          })),
        ].filter((series) => series.points.length > 0),
      }),
    );
  }

  for (const s of scaling.series) {
    const title = `${s.title}: gas`;
    add(
      `scaling-${s.id}.svg`,
      title,
      lineChart({
        title,
        xLabel: s.title.toLowerCase(),
        yLabel: "gas",
        logX: true,
        logY: s.id === "readings-per-batch",
        series: [
          { name: s.write, points: s.points.map((p) => ({ x: p.n, y: p.writeGas })) },
          { name: s.view, points: s.points.map((p) => ({ x: p.n, y: p.viewGas })) },
        ],
      }),
    );
  }
  return charts;
}
