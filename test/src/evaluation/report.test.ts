import { expect } from "chai";
import { parseArgs } from "../../../src/evaluation/args";
import { resolvePriceSettings } from "../../../src/evaluation/cost";
import { FHIR_BEFORE } from "../../../src/evaluation/fhir-before";
import { parseGasReport } from "../../../src/evaluation/gas";
import { REFERENCES } from "../../../src/evaluation/references";
import { findings, int, ms, renderReport, table } from "../../../src/evaluation/report";
import { toJson } from "../../../src/evaluation/run";
import { summarize } from "../../../src/evaluation/stats";
import { judgeTargets } from "../../../src/evaluation/targets";
import type { EvaluationResult, NetworkPart, StoragePart, TimingPart } from "../../../src/evaluation/types";

const storage: StoragePart = {
  cohort: {
    seed: 1,
    patients: 2,
    days: 1,
    intervalSeconds: 60,
    emrRecords: 10,
    readings: 1000,
    patientDays: 2,
    recordEnvelopeBytes: summarize([500, 900]),
    readingEnvelopeBytes: summarize([150, 160]),
    totalEnvelopeBytes: 160_000,
  },
  designs: [
    {
      id: "all-on-chain",
      title: "All on chain",
      totalGas: 170_000_000,
      gasPerPatientDay: 85_000_000,
      gasPer1000Readings: 166_000_000,
      measuredTransactions: 40,
      representedTransactions: 1010,
      method: "sample",
    },
    {
      id: "anchor-per-record",
      title: "One anchor per record",
      totalGas: 43_000_000,
      gasPerPatientDay: 21_500_000,
      gasPer1000Readings: 42_700_000,
      measuredTransactions: 60,
      representedTransactions: 1010,
      method: "sample",
    },
    {
      id: "merkle-batches",
      title: "Merkle batches",
      totalGas: 540_000,
      gasPerPatientDay: 270_000,
      gasPer1000Readings: 56_415,
      measuredTransactions: 2,
      representedTransactions: 12,
      method: "full",
    },
  ],
  onChainFit: { intercept: 56_000, gasPerByte: 716, samples: 40 },
  batchCurve: [
    {
      batchSize: 1000,
      anchorGas: 56_415,
      gasPerReading: 56.415,
      proofLength: 10,
      verifyGas: 10_700,
      treeBuildMs: 400,
      anchorMs: 3,
    },
  ],
  recordCurve: [
    {
      records: 1,
      anchorRecordsGas: 60_500,
      recordUpdatesGas: 42_200,
      recordUpdatesMeasured: true,
      ratio: 42_200 / 60_500,
      proofLength: 0,
      verifyGas: 4_000,
      treeBuildMs: 0.5,
    },
    {
      records: 22,
      anchorRecordsGas: 60_600,
      recordUpdatesGas: 928_400,
      recordUpdatesMeasured: true,
      ratio: 928_400 / 60_600,
      proofLength: 5,
      verifyGas: 7_000,
      treeBuildMs: 8,
    },
    {
      records: 1000,
      anchorRecordsGas: 60_612,
      recordUpdatesGas: 42_200_000,
      recordUpdatesMeasured: false,
      ratio: 42_200_000 / 60_612,
      proofLength: 10,
      verifyGas: 11_000,
      treeBuildMs: 300,
    },
  ],
  cohortBundleGas: [60_550, 60_580],
  ratios: { allOnChainOverAnchorPerRecord: 3.9, allOnChainOverMerkle1000: 2942, anchorPerRecordOverMerkle1000: 757 },
  batchPolicy: "one batch per patient-day",
};

const timing = (sealMean: number): TimingPart => ({
  offChain: [{ id: "seal", what: "seal | wrap", warmup: 2, ms: { ...summarize([sealMean]), mean: sealMean } }],
  contractCalls: [],
});

const network = (overrides: Partial<NetworkPart> = {}): NetworkPart => ({
  measured: true,
  endpoint: "http://127.0.0.1:1",
  startupSeconds: 3,
  confirmation: [],
  rpcCall: null,
  intervalExperiment: {
    requests: 200,
    blockSeconds: 12,
    endToEndSeconds: 13,
    perRequestSeconds: 0.065,
    blocks: 1,
    confirmed: 200,
    checked: 200,
    confirmationMs: summarize([12_000]),
    speedupOverPaper: 1600 / 13,
    description: "the experiment",
  },
  gateway: { measured: false, reason: "src/service missing", runs: [], description: "" },
  ...overrides,
});

function result(): EvaluationResult {
  const prices = resolvePriceSettings({}, {});
  const t = timing(0.8);
  const n = network();
  return {
    meta: {
      generatedAt: "2026-01-01T00:00:00.000Z",
      mode: "quick",
      durationSeconds: 60,
      node: "v20",
      platform: "linux x64",
      cpus: 2,
      cpuModel: "CPU",
      hardhatVersion: "2.29.1",
      solcVersion: "0.8.28",
      optimizer: "on, 200 runs",
      evmVersion: "cancun",
      seed: 1,
      commit: "abc1234",
      contractsDirty: false,
    },
    prices,
    references: Object.values(REFERENCES),
    gas: {
      functions: [
        {
          contract: "TwinUpdateLog",
          method: "recordUpdate",
          calls: 4,
          min: 42_107,
          avg: 46_418,
          max: 59_255,
          firstTime: 59_249,
          typical: 42_141,
          msPerTx: 4.5,
        },
        {
          contract: "TwinUpdateLog",
          method: "anchorRecords",
          calls: 2,
          min: 60_600,
          avg: 69_100,
          max: 77_600,
          firstTime: 77_600,
          typical: 60_600,
          msPerTx: 4.5,
        },
      ],
      views: [{ contract: "ConsentPolicy", method: "isAuthorized", case: "allowed", executionGas: 9166 }],
      deployments: [{ contract: "TwinUpdateLog", gas: 1_212_853, runtimeBytes: 5359 }],
      gasReport: null,
    },
    storage,
    timing: t,
    network: n,
    scaling: { series: [] },
    targets: judgeTargets(storage, t, n),
    costs: { deployments: [], functions: [], storage: [], paperDeployment: [] },
    charts: [],
    notes: ["a note"],
  };
}

describe("evaluation/report", () => {
  it("formats integers and milliseconds", () => {
    expect(int(1_308_303)).to.equal("1,308,303");
    expect(int(null)).to.equal("n/a");
    expect(int(Number.NaN)).to.equal("n/a");
    expect(ms(0.01849)).to.equal("0.0185");
    expect(ms(485.53)).to.equal("485.5");
  });

  it("renders a markdown table, escaping pipes and right-aligning numeric columns only", () => {
    const md = table(
      ["name", "gas", "note"],
      [
        ["a|b", "1,000", "text"],
        ["c", "$2.62", "more"],
      ],
    );
    const lines = md.split("\n");
    expect(lines[0]).to.equal("| name | gas | note |");
    expect(lines[1]).to.equal("| --- | ---: | --- |");
    expect(lines[2]).to.equal("| a\\|b | 1,000 | text |");
  });

  it("renders FHIR at size, padding's cost and the rate limiter's effect when measured", () => {
    const r = result();
    const c10 = (throughputPerSecond: number) => ({
      concurrency: 10,
      requests: 400,
      ms: summarize([40, 50]),
      gatewayMs: summarize([40, 50]),
      throughputPerSecond,
      allowed: 400,
      denied: 0,
      errors: 0,
      verified: 400,
    });
    const fhirRun = {
      records: 2001,
      readings: 2000,
      inputBytes: 1_175_040,
      seconds: 9.2,
      cpuSeconds: 9,
      peakRssMb: 350,
      rssBeforeMb: 297,
      anchorGas: 79_051,
    };
    const md = renderReport({
      ...r,
      network: {
        ...r.network,
        gateway: {
          ...r.network.gateway,
          rateLimits: { concurrency: 10, limitsOff: c10(160), limitsOn: c10(152), ratio: 0.95, limits: "never hit" },
        },
      },
      fhirAtSize: {
        measured: true,
        reason: "",
        observations: 2000,
        judged: false,
        ingest: { ...fhirRun, anchorGas: null },
        pipeline: fhirRun,
      },
      padding: {
        records: { what: "EMR records", blobs: 36, plainBytes: 43_222, paddedBytes: 44_160, ratio: 44_160 / 43_222 },
        batchesPerStreamDay: { what: "batches", blobs: 24, plainBytes: 500_240, paddedBytes: 1_572_864, ratio: 3.14 },
        batchPolicy: "cadence",
      },
    });
    expect(md).to.include("## 6. FHIR ingest at size");
    expect(md).to.include("| whole pipeline | 2,001 | 1.1 | 9.20 | 9.00 | 350 | 297 | 79,051 |  |");
    // the same size's run before the size work, recorded, beside it with its load
    const before = FHIR_BEFORE[2000];
    expect(before?.recorded).to.be.a("string");
    expect(md).to.include(
      `| whole pipeline, ${before?.recorded} | 2,001 | 1.1 | ${before?.seconds.toFixed(2)} | ` +
        `${before?.cpuSeconds.toFixed(2)} | ${int(before?.peakRssMb)} | ${int(before?.rssBeforeMb)} | 79,051 | ` +
        `${before?.loadAverage?.toFixed(1)} |`,
    );
    expect(md).to.include("not judged");
    expect(md).to.include("| EMR records | 36 | 43,222 | 44,160 | 1.02× |");
    expect(md).to.include("| batches | 24 | 500,240 | 1,572,864 | 3.14× |");
    expect(md).to.include("| on (never hit) | 400 |");
    expect(md).to.include("On / off: 0.95×");
  });

  it("renders every part, the prices, the verdicts and the sources", () => {
    const md = renderReport(result());
    for (const heading of [
      "## Targets",
      "## Prices and assumptions",
      "## 1. Execution cost",
      "## 2. Storage cost",
      "## 3. Execution time",
      "## 4. Network latency",
      "## 5. Scaling",
      "## Sources of outside figures",
      "## Notes and limits",
    ]) {
      expect(md).to.include(heading);
    }
    expect(md).to.include("Quick mode");
    expect(md).to.include("| mainnet | 10 | 3000 | $30.00 |");
    expect(md).to.include("1,308,303");
    expect(md).to.include("Amofa et al. 2024, PLoS ONE");
    expect(md).to.include("**Not measured**: src/service missing");
    expect(md).to.include("2,942×");
    expect(md).to.not.include("NaN");
    // v2: record batches beside one recordUpdate per record, and the v1 → v2 marks.
    expect(md).to.include("### Per-record gas over EMR bundle sizes (record batches, new in v2)");
    expect(md).to.include("| 22 | 60,600 | 928,400 | 15.3× |");
    expect(md).to.include("~42,200,000");
    expect(md).to.include("EMR bundle of 22: 22 recordUpdates (v1's ingest) / one anchorRecords (v2) | 15.3× |");
    expect(md).to.include("### Changes from v1");
    expect(md).to.include("| TwinUpdateLog.recordUpdate | 46,425 | 46,418 | −0.0 % |");
    expect(md).to.include(
      "| TwinUpdateLog.anchorRecords | n/a | 69,100 | new | new: one record batch per EMR ingest |",
    );
    expect(md).to.include("| TwinUpdateLog | 1,212,853 | 1,212,853 | +0.0 % | 5,359 | 5,359 |");
    expect(md).to.include("anchorRecords first-time 77,600 vs typical 60,600");
    expect(md).to.not.include("undefined");
    // Tables are separated from paragraphs by a blank line.
    expect(md).to.not.match(/[^\n|]\n\| /);
  });

  it("states its findings from the figures, saying what was not measured", () => {
    const list = findings(result());
    expect(list[0]).to.include("2,942× less than all on chain");
    expect(list[1]).to.include("a 22-record bundle anchored in one anchorRecords costs 60,600 gas against 928,400");
    expect(list[1]).to.include("v1's pipeline spent 944,462");
    expect(list[1]).to.include("up to 1,000 records) took 60,612 gas");
    expect(list.some((f) => f.startsWith("Gateway: not measured (src/service missing)"))).to.equal(true);
    expect(list.some((f) => f.includes("at the paper's block time"))).to.equal(true);
  });

  it("writes NaN and infinities as null in the JSON", () => {
    expect(JSON.parse(toJson({ a: Number.NaN, b: Infinity, c: 1 }))).to.deep.equal({ a: null, b: null, c: 1 });
  });
});

describe("evaluation/targets", () => {
  it("judges the gateway under autocannon at concurrency 10: ≥ 3,000 allowed queries/s, p99 ≤ 20 ms, nothing refused", () => {
    const level = (okPerSecond: number, p99: number, non2xx = 0) => {
      const result = {
        requests: 1000,
        ok: 1000 - non2xx,
        non2xx,
        errors: 0,
        timeouts: 0,
        seconds: 1,
        okPerSecond,
        latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99 },
      };
      return {
        concurrency: 10,
        gateway: result,
        bare: { ...result, okPerSecond: 40_000 },
        ratio: okPerSecond / 40_000,
      };
    };
    const verdict = (l: ReturnType<typeof level>) =>
      judgeTargets(
        storage,
        timing(0.5),
        network({ gateway: { measured: true, reason: "", runs: [], autocannon: [l], description: "d" } }),
      ).find((v) => v.id === "gateway-autocannon-c10")?.verdict;
    expect(verdict(level(3200, 15))).to.equal("met");
    expect(verdict(level(2900, 15))).to.equal("missed");
    expect(verdict(level(3200, 25))).to.equal("missed");
    expect(verdict(level(3200, 15, 3))).to.equal("missed");
  });

  it("judges each target on the measured figure, and says 'not measured' when there is none", () => {
    const verdicts = judgeTargets(storage, timing(0.8), network());
    const by = Object.fromEntries(verdicts.map((v) => [v.id, v.verdict]));
    expect(by).to.deep.equal({
      "merkle-vs-on-chain": "met",
      "emr-bundle-120k": "met",
      "gateway-c10": "not measured",
      "gateway-autocannon-c10": "not measured",
      "seal-1ms": "met",
      "paper-200": "met",
    });
  });

  it("reports a miss with its figure", () => {
    const verdicts = judgeTargets(
      { ...storage, ratios: { ...storage.ratios, allOnChainOverMerkle1000: 250 } },
      timing(3.03),
      network(),
    );
    const merkle = verdicts.find((v) => v.id === "merkle-vs-on-chain");
    expect(merkle?.verdict).to.equal("missed");
    expect(merkle?.measured).to.include("250×");
    expect(verdicts.find((v) => v.id === "seal-1ms")?.measured).to.include("3.03 ms");
    const bundles = judgeTargets({ ...storage, cohortBundleGas: [120_001] }, timing(0.8), network()).find(
      (v) => v.id === "emr-bundle-120k",
    );
    expect(bundles?.verdict).to.equal("missed");
    expect(bundles?.measured).to.include("at most 120,001 gas");
    expect(bundles?.measured).to.include("22 records: 60,600 vs 928,400 as 22 recordUpdates (15.3× less)");
    const withFirst = judgeTargets(storage, timing(0.8), network(), [
      {
        contract: "TwinUpdateLog",
        method: "anchorRecords",
        calls: 2,
        min: 60_600,
        avg: 69_800,
        max: 79_000,
        firstTime: 79_000,
        typical: 60_600,
        msPerTx: 3,
      },
    ]).find((v) => v.id === "emr-bundle-120k");
    expect(withFirst?.verdict).to.equal("met");
    expect(withFirst?.measured).to.include("at most 79,000 gas (a twin's first anchor, its log head written new");
    expect(withFirst?.measured).to.include("typical path at most 60,612");
    const none = judgeTargets({ ...storage, recordCurve: [], cohortBundleGas: [] }, timing(0.8), network());
    expect(none.find((v) => v.id === "emr-bundle-120k")?.verdict).to.equal("not measured");
  });

  it("does not judge the paper's experiment at other settings than 200 requests in 12-s blocks", () => {
    const quick = network();
    const experiment = quick.intervalExperiment;
    if (!experiment) throw new Error("fixture");
    const verdicts = judgeTargets(
      storage,
      timing(0.5),
      network({ intervalExperiment: { ...experiment, requests: 20, blockSeconds: 2 } }),
    );
    const paper = verdicts.find((v) => v.id === "paper-200");
    expect(paper?.verdict).to.equal("not measured");
    expect(paper?.measured).to.include("indicative only");
  });

  it("judges the gateway at concurrency 10 under load (pre-signed) and end to end, each on its own run", () => {
    const run = (p50: number, p99: number, throughputPerSecond: number, verified = 100) => ({
      concurrency: 10,
      requests: 100,
      ms: { ...summarize([p50]), p50, p99 },
      gatewayMs: { ...summarize([p50]), p50, p99 },
      throughputPerSecond,
      allowed: 100,
      denied: 0,
      errors: 0,
      verified,
    });
    const judge = (capacity: ReturnType<typeof run>, e2e: ReturnType<typeof run>) =>
      Object.fromEntries(
        judgeTargets(
          storage,
          timing(0.5),
          network({ gateway: { measured: true, reason: "", runs: [e2e], capacity: [capacity], description: "d" } }),
        )
          .filter((v) => v.id.startsWith("gateway"))
          .map((v) => [v.id, v.verdict]),
      );
    expect(judge(run(15, 40, 560), run(120, 200, 80))).to.deep.equal({
      "gateway-c10": "met",
      "gateway-c10-end-to-end": "missed",
      "gateway-autocannon-c10": "not measured",
    });
    // Each bound on its own: p50, p99, throughput, and every answer's proofs verified.
    expect(judge(run(21, 40, 560), run(1, 2, 900))["gateway-c10"]).to.equal("missed");
    expect(judge(run(15, 101, 560), run(1, 2, 900))["gateway-c10"]).to.equal("missed");
    expect(judge(run(15, 40, 299), run(1, 2, 900))["gateway-c10"]).to.equal("missed");
    expect(judge(run(15, 40, 560, 99), run(1, 2, 900))["gateway-c10"]).to.equal("missed");
    expect(judge(run(15, 40, 560), run(1, 2, 900))["gateway-c10-end-to-end"]).to.equal("met");
  });
});

describe("evaluation/args and gas report", () => {
  it("parses the flags", () => {
    expect(parseArgs([])).to.include({ mode: "full", outDir: "reports", skipNetwork: false });
    const args = parseArgs(["--quick", "--out", "/tmp/x", "--gas-price-gwei=25", "--skip-network"]);
    expect(args).to.include({ mode: "quick", outDir: "/tmp/x", gasPriceGwei: "25", skipNetwork: true });
    expect(() => parseArgs(["--bogus"])).to.throw(/unknown option/);
    expect(() => parseArgs(["--out"])).to.throw(/needs a value/);
    expect(parseArgs(["--quick", "--scale-out-twins", "20"]).scaleOutTwins).to.equal(20);
    expect(() => parseArgs(["--scale-out-twins", "0"])).to.throw(/whole number/);
  });

  it("reads the methods of a hardhat-gas-reporter JSON report, skipping uncalled ones", () => {
    const report = parseGasReport("r.json", {
      data: {
        methods: {
          a: { contract: "ConsentPolicy", fnSig: "grant(bytes32)", min: 1, max: 3, avg: 2, numberOfCalls: 4 },
          b: { contract: "ConsentPolicy", method: "revoke", numberOfCalls: 0 },
          c: {
            contract: "TwinRegistry",
            fnSig: "createTwin(bytes32,bytes32,address)",
            min: 70_000,
            max: 80_000,
            executionGasAverage: 74_434,
            numberOfCalls: 3,
          },
        },
      },
    });
    expect(report?.methods).to.deep.equal([
      { contract: "ConsentPolicy", method: "grant(bytes32)", min: 1, max: 3, avg: 2, calls: 4 },
      {
        contract: "TwinRegistry",
        method: "createTwin(bytes32,bytes32,address)",
        min: 70_000,
        max: 80_000,
        avg: 74_434,
        calls: 3,
      },
    ]);
    expect(parseGasReport("r.json", { nope: true })).to.equal(null);
    expect(parseGasReport("r.json", null)).to.equal(null);
  });
});
