import { expect } from "chai";
import type { CohortScaleRun } from "../../../src/evaluation/cohort-scale";
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
});
