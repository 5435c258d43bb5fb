import { formatEth, formatUsd, gasToEth, gasToUsd, type PriceSetting } from "./cost";
import { renderPredictive } from "./predictive";
import { renderFhirAtSize } from "./report-fhir";
import { renderResearch } from "./report-research";
import { renderScaleOut } from "./scale-out";
import { renderReplicas } from "./gateway-replicas";
import { renderColdQuery } from "./gateway-cold";
import { REFERENCES } from "./references";
import type { Summary } from "./stats";
import type { ConcurrencyRun, EvaluationResult, FunctionGas, RecordBatchPoint, TimedOperation } from "./types";
import { V1_DEPLOYMENTS, V1_EMR_BUNDLE_22, V1_FUNCTION_AVG, V1_SOURCE, V2_CHANGES } from "./v1";

/** An integer with thousands separators; "n/a" for a non-finite value. */
export function int(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  return Math.round(x).toLocaleString("en-US");
}

/** Milliseconds: three significant digits below 10, else one decimal. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x < 10) return x.toPrecision(3);
  return x.toFixed(1);
}

/** A markdown table; cells are escaped for pipes. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(" | ")} |`;
  // Numbers (with separators, $, ×, units in the cell) right-aligned; text left-aligned.
  const numeric = /^(n\/a|[-~]?\$?[\d,.]+(e-?\d+)?( ?(×|%|ms|s|gas|ETH))?|)$/;
  const align = header.map((_, i) =>
    i > 0 && rows.length > 0 && rows.every((r) => numeric.test((r[i] ?? "").trim())) ? "---:" : "---",
  );
  return [line(header), `| ${align.join(" | ")} |`, ...rows.map(line)].join("\n");
}

function usdCells(gas: number | null, prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => (gas === null || !Number.isFinite(gas) ? "n/a" : formatUsd(gasToUsd(gas, p))));
}

function priceHeaders(prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => `USD ${p.name}`);
}

function ethCells(gas: number | null, prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => (gas === null || !Number.isFinite(gas) ? "n/a" : formatEth(gasToEth(gas, p.gasPriceGwei))));
}

function ethHeaders(prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => `ETH ${p.name}`);
}

function timingRows(ops: readonly TimedOperation[], withPaper: boolean): string[][] {
  return ops.map((o) => [
    o.what,
    int(o.ms.count),
    ms(o.ms.mean),
    ms(o.ms.p50),
    ms(o.ms.p95),
    ...(withPaper ? [o.paper ? `${o.paper.what}` : ""] : []),
  ]);
}

function summaryCells(s: Summary): string[] {
  return [ms(s.mean), ms(s.p50), ms(s.p95), ms(s.p99)];
}

/** A change in percent, signed ("+3.1 %", "−12.0 %"); "new" without a v1 figure. */
export function change(v1: number | undefined, v2: number): string {
  if (v1 === undefined || !Number.isFinite(v1) || v1 === 0) return "new";
  const pct = ((v2 - v1) / v1) * 100;
  return `${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)} %`;
}

/** The record-batch point of an EMR bundle of `records` records, if measured. */
export function bundlePoint(curve: readonly RecordBatchPoint[], records: number): RecordBatchPoint | undefined {
  return curve.find((p) => p.records === records);
}

function fn(functions: readonly FunctionGas[], contract: string, method: string): FunctionGas | undefined {
  return functions.find((f) => f.contract === contract && f.method === method);
}

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

/** What an EVM floor means for the figures above, with a measured example where one shows it. */
function floorNote(refId: string, functions: readonly FunctionGas[]): string {
  const records = fn(functions, "TwinUpdateLog", "anchorRecords");
  const grant = fn(functions, "ConsentPolicy", "grant");
  switch (refId) {
    case "txBase":
      return "included in every transaction figure above; no transaction costs less";
    case "sstoreNew":
      return records?.firstTime != null && records.typical != null
        ? `anchorRecords first-time ${int(records.firstTime)} vs typical ${int(records.typical)}: the twin's log-head slot written new once (each record batch writes its own new slot)`
        : "";
    case "sstoreReset":
      return grant?.typical != null ? `a typical grant (${int(grant.typical)}) overwrites its packed grant slot` : "";
    case "coldSload":
    case "coldAccount":
      return "every consent check reads the registry (another contract) and the grant slot cold";
    default:
      return "";
  }
}

/** The auditor's report: every figure of `result` with what it means, the prices, assumptions and sources. */
export function renderReport(result: EvaluationResult): string {
  const { meta, prices, gas, storage, timing, network, scaling } = result;
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

  // ---------------------------------------------------------------------------------------------- part 1
  p(
    "## 1. Execution cost",
    "### Deployment",
    table(
      [
        "contract",
        "deployment gas",
        "v1 gas",
        "v1 → v2",
        "runtime code (bytes)",
        "v1 bytes",
        ...ethHeaders(prices),
        ...priceHeaders(prices),
      ],
      [
        ...gas.deployments.map((d) => [
          d.contract,
          int(d.gas),
          int(V1_DEPLOYMENTS[d.contract]?.gas),
          V1_DEPLOYMENTS[d.contract] ? change(V1_DEPLOYMENTS[d.contract].gas, d.gas) : "",
          int(d.runtimeBytes),
          int(V1_DEPLOYMENTS[d.contract]?.runtimeBytes),
          ...ethCells(d.gas, prices),
          ...usdCells(d.gas, prices),
        ]),
        [
          "TwinLedger total (the three product contracts)",
          int(gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0)),
          int(Object.values(V1_DEPLOYMENTS).reduce((a, d) => a + d.gas, 0)),
          change(
            Object.values(V1_DEPLOYMENTS).reduce((a, d) => a + d.gas, 0),
            gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0),
          ),
          "",
          "",
          ...ethCells(
            gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0),
            prices,
          ),
          ...usdCells(
            gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0),
            prices,
          ),
        ],
        [
          `the paper's data contract (${REFERENCES.paperDeployGas.source}; “about $${REFERENCES.paperDeployUsd.value} then”)`,
          int(REFERENCES.paperDeployGas.value),
          "",
          "",
          "",
          "",
          ...ethCells(REFERENCES.paperDeployGas.value, prices),
          ...usdCells(REFERENCES.paperDeployGas.value, prices),
        ],
      ],
    ),
  );
  p(
    "### Gas per function",
    "Each state-changing function, called by the evaluation's workload over fresh twins (deterministic): calls, " +
      "min / avg / max gas, and the means of its first-time and typical paths. ETH and USD at the average. ms per tx is " +
      "the in-process send-and-receipt time (part 3).",
    table(
      [
        "function",
        "calls",
        "min",
        "avg",
        "max",
        "first-time",
        "typical",
        ...ethHeaders(prices),
        ...priceHeaders(prices),
        "ms per tx",
      ],
      gas.functions.map((f) => [
        `${f.contract}.${f.method}`,
        int(f.calls),
        int(f.min),
        int(f.avg),
        int(f.max),
        int(f.firstTime),
        int(f.typical),
        ...ethCells(f.avg, prices),
        ...usdCells(f.avg, prices),
        ms(f.msPerTx),
      ]),
    ),
  );
  p(
    "### Changes from v1",
    `Average gas of each function here against v1's (${V1_SOURCE}), with what v2 changed in the function's work ` +
      "(issue 9). The workload is the same except where the ABI changed it (salts, epochs, record batches).",
    table(
      ["function", "v1 avg", "v2 avg", "v1 → v2", "what v2 changed"],
      gas.functions.map((f) => {
        const key = `${f.contract}.${f.method}`;
        return [key, int(V1_FUNCTION_AVG[key]), int(f.avg), change(V1_FUNCTION_AVG[key], f.avg), V2_CHANGES[key] ?? ""];
      }),
    ),
  );
  p(
    "### Views (execution gas)",
    "A view costs nothing when called off chain (eth_call); inside a transaction (another contract asking) it costs " +
      "its execution gas: eth_estimateGas minus the 21,000 base and the calldata.",
    table(
      ["view", "case", "execution gas"],
      gas.views.map((v) => [`${v.contract}.${v.method}`, v.case, int(v.executionGas)]),
    ),
  );
  const grantBySig = fn(gas.functions, "ConsentPolicy", "grantBySig");
  const grant = fn(gas.functions, "ConsentPolicy", "grant");
  const createTwin = fn(gas.functions, "TwinRegistry", "createTwin");
  const authorize = fn(gas.functions, "TwinRegistry", "authorizeSource");
  const registration = (createTwin?.avg ?? NaN) + 2 * (authorize?.firstTime ?? NaN);
  p(
    "### Side by side with published figures and the EVM floors",
    table(
      ["figure", "gas", "source", "TwinLedger here"],
      [
        [
          REFERENCES.paperDeployGas.what,
          int(REFERENCES.paperDeployGas.value),
          REFERENCES.paperDeployGas.source,
          `largest contract ${int(Math.max(...gas.deployments.filter((d) => !d.contract.includes("baseline")).map((d) => d.gas)))}; ` +
            `all three ${int(gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0))}`,
        ],
        [
          REFERENCES.eip712Grant.what,
          int(REFERENCES.eip712Grant.value),
          REFERENCES.eip712Grant.source,
          `grantBySig avg ${int(grantBySig?.avg)} (relayed, signature checked on chain; v1 ${int(V1_FUNCTION_AVG["ConsentPolicy.grantBySig"])}); grant avg ${int(grant?.avg)}, typical ${int(grant?.typical)}`,
        ],
        [
          REFERENCES.ehrRegistration.what,
          int(REFERENCES.ehrRegistration.value),
          REFERENCES.ehrRegistration.source,
          `createTwin ${int(createTwin?.avg)} (v1 ${int(V1_FUNCTION_AVG["TwinRegistry.createTwin"])}); with its EMR and device sources authorized ${int(registration)}`,
        ],
        ...(
          [
            REFERENCES.txBase,
            REFERENCES.sstoreNew,
            REFERENCES.sstoreReset,
            REFERENCES.coldSload,
            REFERENCES.coldAccount,
            REFERENCES.warmAccess,
            REFERENCES.calldataNonZero,
          ] as const
        ).map((r) => [r.what, int(r.value), r.source, floorNote(r.id, gas.functions)]),
      ],
    ),
  );
  if (gas.gasReport) {
    p(
      "### From the test suite's gas report",
      `\`${gas.gasReport.file}\` (hardhat-gas-reporter over \`npm run gas\`; averages over every call the tests make, ` +
        "reverts excluded):",
      table(
        ["contract", "method", "calls", "min", "avg", "max"],
        gas.gasReport.methods.map((m) => [m.contract, m.method, int(m.calls), int(m.min), int(m.avg), int(m.max)]),
      ),
    );
  } else {
    p(
      "### From the test suite's gas report",
      "`reports/gas-report.json` was not present for this run (`npm run gas` writes it).",
    );
  }

  // ---------------------------------------------------------------------------------------------- part 2
  const c = storage.cohort;
  p(
    "## 2. Storage cost",
    `The same seeded synthetic cohort (generateCohort, seed ${c.seed}: ${c.patients} patients × ${c.days} day${c.days === 1 ? "" : "s"}, ` +
      `readings every ${c.intervalSeconds} s at the finest) ingested from FHIR and sealed with src/crypto ` +
      `(sealRecord: AES-256-GCM envelopes, the real bytes): ${int(c.emrRecords)} EMR records (envelopes ` +
      `${int(c.recordEnvelopeBytes.min)} to ${int(c.recordEnvelopeBytes.max)} bytes, median ${int(c.recordEnvelopeBytes.p50)}) ` +
      `and ${int(c.readings)} wearable readings, each sealed alone (envelopes median ${int(c.readingEnvelopeBytes.p50)} bytes); ` +
      `${int(c.totalEnvelopeBytes)} bytes in all, ${int(c.patientDays)} patient-days. Stored three ways. The all-on-chain ` +
      "design stores only the envelope; the wrapped keys (87 bytes per reader) would add to it.",
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

  // ---------------------------------------------------------------------------------------------- part 3
  p(
    "## 3. Execution time",
    "### Off-chain operations (per call, in process)",
    "The paper's figures are for its pairing-based scheme on its own hardware; they are set next to the operation " +
      "that plays the same role here (key agreement, signcryption, signature check), not the same computation.",
    table(["operation", "runs", "mean ms", "p50 ms", "p95 ms", "paper"], timingRows(timing.offChain, true)),
    "![off-chain operations](timing-offchain.svg)",
  );
  p(
    "### Contract calls on the in-process Hardhat network (ms per transaction: send, mine, receipt)",
    table(["call", "runs", "mean ms", "p50 ms", "p95 ms"], timingRows(timing.contractCalls, false)),
  );

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
  const ac = network.gateway.autocannon;
  if (ac?.length) {
    p(
      "### The gateway under a load generator (issue 12)",
      "autocannon (its own process) POSTs queries signed before the clock starts, each sent once, over keep-alive " +
        "connections; the same bodies then go to a bare fastify handler (parse the JSON, answer a small JSON) in the " +
        "same process as the gateway, so the gateway's throughput reads as a share of what the framework alone does " +
        "on this machine. Answers are not proof-checked here (the end-to-end table does that).",
      table(
        [
          "concurrency",
          "queries",
          "gateway: allowed/s",
          "p50 ms",
          "p99 ms",
          "refused or errors",
          "bare fastify: answers/s",
          "p99 ms",
          "gateway / bare",
        ],
        ac.map((l) => [
          String(l.concurrency),
          int(l.gateway.requests),
          l.gateway.okPerSecond.toFixed(0),
          ms(l.gateway.latencyMs.p50),
          ms(l.gateway.latencyMs.p99),
          int(l.gateway.non2xx + l.gateway.errors + l.gateway.timeouts),
          l.bare.okPerSecond.toFixed(0),
          ms(l.bare.latencyMs.p99),
          `${(l.ratio * 100).toFixed(1)}%`,
        ]),
      ),
    );
  }
  p(...renderReplicas(network.gateway.replicas, table));
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

  // ---------------------------------------------------------------------------------------------- part 5
  p("## 5. Scaling");
  for (const s of scaling.series) {
    p(
      `### ${s.title}`,
      s.finding,
      `![${s.title}](scaling-${s.id}.svg)`,
      table(
        [
          "n",
          `${s.write} gas`,
          `${s.view} gas`,
          "write ms",
          s.id === "readings-per-batch" ? "tree build ms (off chain)" : "view ms (eth_call)",
        ],
        s.points.map((pt) => [
          int(pt.n),
          int(pt.writeGas),
          int(pt.viewGas),
          ms(pt.writeMs),
          ms(s.id === "readings-per-batch" ? (pt.offChainMs ?? NaN) : pt.viewMs),
        ]),
      ),
    );
  }

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
