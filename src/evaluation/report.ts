import { formatUsd, gasToUsd } from "./cost";
import { renderPredictive } from "./predictive";
import { renderFhirAtSize } from "./report-fhir";
import { bundlePoint, int, ms, summaryCells, table, timingRows } from "./report-format";
import { renderGasPart } from "./report-gas";
import { renderResearch } from "./report-research";
import { renderScalingPart } from "./report-scaling";
import { renderStoragePart } from "./report-storage";
import { renderTimingPart } from "./report-timing";
import { renderScaleOut } from "./scale-out";
import { renderReplicas } from "./gateway-replicas";
import { renderCapacity } from "./gateway-capacity";
import { renderColdQuery } from "./gateway-cold";
import { REFERENCES } from "./references";
import type { ConcurrencyRun, EvaluationResult } from "./types";
import { V1_EMR_BUNDLE_22 } from "./v1";

export { bundlePoint, change, int, ms, table } from "./report-format";

/** The main findings, each computed from the measured figures (nothing here is written by hand). */
export function findings(result: EvaluationResult): string[] {
  const { storage, timing, network, scaling } = result;
  const out: string[] = [];
  const merkle = storage.designs.find((d) => d.id === "merkle-batches");
  const onChain = storage.designs.find((d) => d.id === "all-on-chain");
  const perRecord = storage.designs.find((d) => d.id === "anchor-per-record");
  if (merkle && onChain && perRecord) {
    out.push(
      `Storage: per 1,000 readings, all on chain costs ${int(onChain.gasPer1000Readings)} gas, one anchor per record ` +
        `${int(perRecord.gasPer1000Readings)}, one Merkle batch ${int(merkle.gasPer1000Readings)} ` +
        `(${int(storage.ratios.allOnChainOverMerkle1000)}× less than all on chain).`,
    );
  }
  const b22 = bundlePoint(storage.recordCurve, 22);
  if (b22) {
    const worst = Math.max(...storage.recordCurve.map((p) => p.anchorRecordsGas), ...storage.cohortBundleGas);
    out.push(
      `EMR records (v2): a 22-record bundle anchored in one anchorRecords costs ${int(b22.anchorRecordsGas)} gas ` +
        `against ${int(b22.recordUpdatesGas)} for 22 recordUpdates (${b22.ratio.toFixed(1)}× less; v1's pipeline spent ` +
        `${int(V1_EMR_BUNDLE_22)}); the costliest bundle measured (up to ` +
        `${int(Math.max(...storage.recordCurve.map((p) => p.records)))} records) took ${int(worst)} gas.`,
    );
  }
  const op = (id: string) => timing.offChain.find((o) => o.id === id);
  const seal = op("seal");
  const wrap = op("wrap");
  const encrypt = op("encrypt");
  if (seal && wrap && encrypt) {
    out.push(
      `Sealing a record for one reader takes ${ms(seal.ms.mean)} ms on average (p50 ${ms(seal.ms.p50)}); timed ` +
        `alone, the AES-GCM encryption takes ${ms(encrypt.ms.mean)} ms and the ECIES key wrap (two elliptic-curve ` +
        `multiplications) ${ms(wrap.ms.mean)} ms: the key wrap is most of it.`,
    );
  }
  const tree = op("merkle-build-1000");
  if (tree) out.push(`Building the Merkle tree of 1,000 readings off chain takes ${ms(tree.ms.mean)} ms.`);
  const gw = network.gateway.runs.find((r) => r.concurrency === 10);
  const cap = network.gateway.capacity?.find((r) => r.concurrency === 10);
  if (network.gateway.measured && (gw || cap)) {
    const read = network.gateway.dataSet?.pipelineReadMs.p50;
    out.push(
      "Gateway at concurrency 10" +
        (cap
          ? `: under load (queries signed beforehand), ${cap.throughputPerSecond.toFixed(1)} allowed queries/s with ` +
            `an HTTP round trip of p50 ${ms(cap.ms.p50)} ms, p99 ${ms(cap.ms.p99)} ms`
          : "") +
        (gw
          ? `; end to end, each reader signing and checking every proof as it goes, ${gw.throughputPerSecond.toFixed(1)} ` +
            `allowed queries/s, p50 ${ms(gw.ms.p50)} ms (HTTP round trip ${ms(gw.gatewayMs.p50)} ms)`
          : "") +
        (read !== undefined ? `; the pipeline's read of the twin's readings alone takes ${ms(read)} ms` : "") +
        `; every answer's proofs were checked against the chain (${(cap?.verified ?? 0) + (gw?.verified ?? 0)} of ` +
        `${(cap?.allowed ?? 0) + (gw?.allowed ?? 0)} verified).`,
    );
  } else {
    out.push(`Gateway: not measured (${network.gateway.reason}).`);
  }
  const x = network.intervalExperiment;
  if (x) {
    out.push(
      `The paper's experiment: ${x.requests} requests in ${x.endToEndSeconds.toFixed(1)} s with ${x.blockSeconds}-s ` +
        `blocks (${x.blocks} block${x.blocks === 1 ? "" : "s"}), ${x.checked} checked on chain, ` +
        `${x.speedupOverPaper.toFixed(0)}× the paper's 8 s a request` +
        (x.blockSeconds >= 11.7
          ? ": at the paper's block time, the gain is batching and concurrency, not a faster chain."
          : ` (quick mode: ${x.blockSeconds}-s blocks, not the paper's 12 s).`),
    );
  }
  for (const series of scaling.series) out.push(`Scaling, ${series.title.toLowerCase()}: ${series.finding}`);
  return out;
}

/** The auditor's report: every figure of `result` with what it means, the prices, assumptions and sources. */
export function renderReport(result: EvaluationResult): string {
  const { meta, prices, network } = result;
  const out: string[] = [];
  // Each argument is one block (paragraph, table, list item, heading), separated by a blank line; list items
  // (starting with "- ") stay together.
  const p = (...blocks: string[]) => {
    for (const block of blocks) {
      const last = out[out.length - 1];
      if (block.startsWith("- ") && last !== undefined && last.startsWith("- ")) out.push(block);
      else out.push(...(out.length ? [""] : []), block);
    }
  };

  p(
    "# TwinLedger evaluation",
    `Generated by \`npm run evaluate${meta.mode === "quick" ? " -- --quick" : ""}\` on ${meta.generatedAt} ` +
      `(**${meta.mode} mode**, ${meta.durationSeconds.toFixed(0)} s). Every figure is also in \`evaluation.json\`; ` +
      "the charts are the SVG files next to this report.",
  );
  if (meta.mode === "quick") {
    p(
      "> **Quick mode** (the CI run): fewer rounds, a smaller cohort, scaling only to 1,000 and the paper's experiment " +
        "with fewer requests and shorter blocks. Its figures show the same shape as a full run but are not the " +
        "reference figures; run `npm run evaluate` for those.",
    );
  }
  p(
    `Measured at commit \`${meta.commit}\`` +
      (meta.contractsDirty ? " with uncommitted changes in contracts/ (the gas is of the working tree)." : "."),
  );
  p(
    "## How to read this report",
    "- **Gas** is exact: what the EVM charged, the same on any machine for the same code and state, read from " +
      "transaction receipts on Hardhat's in-process network (Hardhat " +
      `${meta.hardhatVersion}, solc ${meta.solcVersion}, optimizer ${meta.optimizer}, EVM ${meta.evmVersion}). ` +
      "It moves by a few gas with the zero bytes of hashes and times in the calldata (4 gas a zero byte, 16 otherwise).",
    "- **USD and ETH** are gas × gas price × ETH price at the stated prices below: assumptions, not market data. " +
      "Recompute them from the gas columns at any other price.",
    `- **Milliseconds** are wall-clock time on this machine (${meta.cpus} × ${meta.cpuModel}, Node ${meta.node}, ` +
      `${meta.platform}), after a warm-up, over repeated runs: mean, p50 (median), p95 and p99 (linear interpolation ` +
      "between ranks). They vary between machines and runs; the gas does not.",
    "- **First-time** calls write new storage slots (20,000 gas each); **typical** calls overwrite slots already " +
      "written (2,900 gas each). Averages mix both.",
    "- Figures from outside this project (the paper and other publications) are marked with their source; see " +
      "[Sources](#sources-of-outside-figures).",
  );

  p(
    "## Targets",
    table(
      ["target", "measured here", "verdict"],
      result.targets.map((t) => [t.target, t.measured, `**${t.verdict}**`]),
    ),
  );

  p("## What the figures say", ...findings(result).map((f) => `- ${f}`));

  p(
    "## Prices and assumptions",
    "No price is fetched. The defaults are assumptions for illustration; set them with flags or environment " +
      "variables (`--gas-price-gwei` / `GAS_PRICE_GWEI`, `--l2-gas-price-gwei` / `L2_GAS_PRICE_GWEI`, " +
      "`--eth-price-usd` / `ETH_PRICE_USD`).",
    table(
      ["setting", "gas price (gwei)", "ETH price (USD)", "USD per 1M gas", "what it stands for"],
      prices.map((s) => [
        s.name,
        String(s.gasPriceGwei),
        String(s.ethPriceUsd),
        formatUsd(gasToUsd(1_000_000, s)),
        s.note,
      ]),
    ),
  );

  p(...renderGasPart(result), ...renderStoragePart(result), ...renderTimingPart(result));

  // ---------------------------------------------------------------------------------------------- part 4
  p("## 4. Network latency");
  if (!network.measured) {
    p(`**Not measured**${network.error ? `: ${network.error}` : ""}.`);
  } else {
    p(
      `Against \`npx hardhat node\` on ${network.endpoint} (started by the harness in ${network.startupSeconds.toFixed(1)} s, ` +
        "stopped at the end), over JSON-RPC (HTTP), all on 127.0.0.1.",
      "### Transaction confirmation (automine)",
      table(
        ["transaction", "runs", "mean ms", "p50 ms", "p95 ms"],
        timingRows([...network.confirmation, ...(network.rpcCall ? [network.rpcCall] : [])], false),
      ),
    );
  }
  p(
    "### Queries through the gateway",
    network.gateway.measured ? network.gateway.description : `**Not measured**: ${network.gateway.reason}`,
  );
  const capacity = network.gateway.capacity ?? [];
  // One table per load: its latency columns, then the same counts.
  const runTable = (
    runs: readonly ConcurrencyRun[],
    latency: { head: string[]; cells: (r: ConcurrencyRun) => string[] },
  ) =>
    table(
      [
        "concurrency",
        "requests",
        ...latency.head,
        "allowed queries/s",
        "allowed",
        "proofs verified",
        "denied",
        "errors",
      ],
      runs.map((r) => [
        String(r.concurrency),
        int(r.requests),
        ...latency.cells(r),
        r.throughputPerSecond.toFixed(1),
        int(r.allowed),
        int(r.verified),
        int(r.denied),
        int(r.errors),
      ]),
    );
  if (capacity.length) {
    p(
      "**The gateway under load.** Each level's queries are signed before the clock starts (each with its own nonce " +
        "and a fresh issuedAt), sent by the level's clients over HTTP keep-alive, and only the POSTs are timed; every " +
        "answer's proofs are checked against the chain after the clock stops.",
      runTable(capacity, { head: ["HTTP: mean ms", "p50", "p95", "p99"], cells: (r) => summaryCells(r.ms) }),
    );
  }
  if (network.gateway.runs.length) {
    p(
      "**End to end.** Each query as a reader runs it: sign → POST → check every proof against the chain " +
        "(verifyAnswer keeping the facts it checked, VerifiedAnchors: each anchor is asked of the chain once), in " +
        "one Node process whose signing and checking share the two cores with the gateway and the node.",
      runTable(network.gateway.runs, {
        head: ["end to end: mean ms", "p50", "p95", "p99", "HTTP only: mean ms", "p50", "p95", "p99"],
        cells: (r) => [...summaryCells(r.ms), ...summaryCells(r.gatewayMs)],
      }),
    );
  }
  if (capacity.length || network.gateway.runs.length) {
    p("![gateway latency by concurrency](network-gateway.svg)");
  }
  const rl = network.gateway.rateLimits;
  if (rl) {
    p(
      "### The rate limiter's effect on throughput (issue 10)",
      `The pre-signed load at concurrency ${rl.concurrency} against the gateway with its limits off and against a ` +
        `second gateway with both limits on (${rl.limits}). With the limits on, every request is counted per ` +
        `address before its body is parsed and per signer after its signature is recovered: allowed queries/s ` +
        `${rl.limitsOn.throughputPerSecond.toFixed(1)} against ${rl.limitsOff.throughputPerSecond.toFixed(1)}, ` +
        `a ratio of ${rl.ratio.toFixed(2)}.`,
      table(
        ["limits", "requests", "HTTP: p50 ms", "p99", "allowed queries/s", "allowed", "errors"],
        [
          { label: "off", run: rl.limitsOff },
          { label: "on (never hit)", run: rl.limitsOn },
        ].map(({ label, run }) => [
          label,
          int(run.requests),
          ms(run.ms.p50),
          ms(run.ms.p99),
          run.throughputPerSecond.toFixed(1),
          int(run.allowed),
          int(run.errors),
        ]),
      ),
      `On / off: ${rl.ratio.toFixed(2)}× the allowed queries/s.`,
    );
  }
  p(...renderCapacity(network.gateway.autocannon, table));
  p(...renderReplicas(network.gateway.replicas, table));
  p(...renderReplicas(network.gateway.replicasSqlite, table));
  p(...renderColdQuery(network.gateway.coldQuery));
  const x = network.intervalExperiment;
  p("### The paper's experiment, repeated");
  if (x) {
    p(
      x.description,
      table(
        ["figure", "here", "paper"],
        [
          ["requests", int(x.requests), int(REFERENCES.paperRequests.value)],
          ["block time (s)", String(x.blockSeconds), `about ${REFERENCES.paperBlockSeconds.value}`],
          ["end to end (s)", x.endToEndSeconds.toFixed(2), int(REFERENCES.paperRequestsSeconds.value)],
          ["per request (s)", x.perRequestSeconds.toFixed(3), "8"],
          ["blocks used", int(x.blocks), ""],
          ["confirmed / checked on chain", `${x.confirmed} / ${x.checked}`, ""],
          ["confirmation per request, p50 / p95 (ms)", `${ms(x.confirmationMs.p50)} / ${ms(x.confirmationMs.p95)}`, ""],
          ["faster than the paper's pace", `${x.speedupOverPaper.toFixed(1)}×`, ""],
        ],
      ),
    );
  } else {
    p(`**Not measured**${network.error ? `: ${network.error}` : ""}.`);
  }

  p(...renderScalingPart(result));

  p(...renderFhirAtSize(result.fhirAtSize, table));
  p(...renderScaleOut(result.scaleOut, table));
  p(...renderResearch(result.research, table));
  if (result.predictive) p("### Predictive care (issue 15)", ...renderPredictive(result.predictive));
  p(
    "## Sources of outside figures",
    "As given in TwinLedger's issue 5; none of them is measured here.",
    table(
      ["figure", "value", "source"],
      result.references.map((r) => [r.what, `${r.value.toLocaleString("en-US")} ${r.unit}`, r.source]),
    ),
  );
  if (result.notes.length) p("## Notes and limits", ...result.notes.map((n) => `- ${n}`));
  return `${out.join("\n")}\n`;
}
