import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { VitalReading, VitalSignName } from "../../../src/fhir/records";
import type { ProvenReading } from "../../../src/pipeline/reader";
import { TwinEngine } from "../../../src/twin";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { reading } from "../twin/builders";
import { FakeTwinData, gatewayFixture, GatewayHarness, grant } from "./harness";

/**
 * Issue 15: answers built from vital readings leave out those of a device flagged on chain and say so (`setAside`),
 * counted over what the reader may see only.
 */

const STEP = 15 * 60_000;
const CHARTED = "0x1111111111111111111111111111111111111111";
const RECALLED = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01";
const VITALS_AND_STREAMS = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

/** Six calm hours charted in care (VITALS), and a recalled wearable whose pulse climbs to 138 (WEARABLE_STREAMS). */
function readingsUntil(end: number): VitalReading[] {
  const calm: [VitalSignName, number][] = [
    ["respiratoryRate", 16],
    ["oxygenSaturation", 97],
    ["systolic", 125],
    ["heartRate", 72],
    ["bodyTemperature", 36.8],
  ];
  const readings: VitalReading[] = [];
  for (let i = 0; i < 24; i++) {
    for (const [sign, value] of calm) {
      readings.push(
        reading(sign, value, end - (23 - i) * STEP - 60_000, { category: DataCategory.VITALS, source: CHARTED }),
      );
    }
    readings.push(
      reading("heartRate", 92 + 2 * i, end - (23 - i) * STEP, {
        category: DataCategory.WEARABLE_STREAMS,
        source: RECALLED,
      }),
    );
  }
  return readings;
}

describe("answers: readings of flagged devices set aside", function () {
  let h: GatewayHarness;
  beforeEach(async () => {
    const f = await loadFixture(gatewayFixture);
    const readings = readingsUntil(((await time.latest()) - 600) * 1000);
    const engine = new TwinEngine();
    engine.apply({ records: [], readings, sourceHashes: [] });
    expect(engine.setFlaggedDevices([RECALLED])).to.deep.equal(["heartRate"]);
    const data = new FakeTwinData();
    const proven: ProvenReading[] = readings.map((r) => ({ reading: r, anchor: null }));
    data.set(f.twinId, { version: engine.screened, anchor: f.state, records: [], readings: proven });
    h = new GatewayHarness(f, { data });
    await h.open();
  });
  afterEach(async () => {
    await h.close();
  });

  async function ask<Q extends "early-warning" | "forecast" | "latest-vitals" | "vitals-series" | "alerts">(
    queryType: Q,
    params: Record<string, unknown>,
    category: number,
  ) {
    const result = await h
      .client(h.f.clinician)
      .query(h.f.twinId, queryType, params as never, { purpose: Purpose.TREATMENT, category });
    expect(result.ok, JSON.stringify(result.body)).to.equal(true);
    if (!result.ok) throw new Error("refused");
    return result.body.answer;
  }

  it("early-warning, forecast, latest-vitals, vitals-series and alerts leave the recalled device out and say so", async () => {
    await grant(h.f, h.f.clinician.address, {
      categories: VITALS_AND_STREAMS | DataCategory.TWIN_MODEL | DataCategory.LABS,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    const setAside = { flaggedDevice: 24, devices: [RECALLED] };

    const warning = await ask("early-warning", { oxygen: false, consciousness: "alert" }, VITALS_AND_STREAMS);
    expect(warning.news2.status === "complete" && warning.news2.score).to.equal(0); // the 138 /min pulse is not scored
    expect(warning.setAside).to.deep.equal(setAside);

    const forecast = await ask("forecast", {}, VITALS_AND_STREAMS);
    expect(forecast.alerts).to.deep.equal([]); // no forecast of the recalled device's climb
    expect(forecast.setAside).to.deep.equal(setAside);

    const latest = await ask("latest-vitals", {}, VITALS_AND_STREAMS);
    expect(latest.vitals.heartRate).to.include({ value: 72, source: CHARTED });
    expect(latest.setAside).to.deep.equal(setAside);

    const series = await ask("vitals-series", { sign: "heartRate" }, VITALS_AND_STREAMS);
    expect(series.bucket === "raw" && series.points.every((p) => p.source === CHARTED)).to.equal(true);
    expect(series.setAside).to.deep.equal(setAside);
    const systolic = await ask("vitals-series", { sign: "systolic" }, VITALS_AND_STREAMS);
    expect(systolic.setAside).to.equal(undefined); // none of the systolic readings was set aside

    const all = DataCategory.TWIN_MODEL | DataCategory.LABS | VITALS_AND_STREAMS;
    const alerts = await ask("alerts", {}, all);
    expect(alerts.alerts.filter((a) => a.sign === "heartRate")).to.deep.equal([]);
    expect(alerts.setAside).to.deep.equal(setAside);
  });

  it("a VITALS-only reader is told nothing of the wearable readings set aside", async () => {
    await grant(h.f, h.f.clinician.address, {
      categories: DataCategory.VITALS,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    const warning = await ask("early-warning", { oxygen: false, consciousness: "alert" }, DataCategory.VITALS);
    expect(warning.setAside).to.equal(undefined);
    expect(warning.news2.status).to.equal("complete");
  });
});
