import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { VitalReading, VitalSignName } from "../../../src/fhir/records";
import type { ProvenReading } from "../../../src/pipeline/reader";
import { verifyAnswer, type QueryParamsMap } from "../../../src/service";
import { TwinEngine } from "../../../src/twin";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { reading } from "../twin/builders";
import { FakeTwinData, gatewayFixture, GatewayHarness, grant } from "./harness";

const READ = Action.READ;
const STEP = 15 * 60_000;

/**
 * A twin charted in care (VITALS) every 15 minutes for 6 hours: respiration, SpO2, systolic pressure, temperature
 * and a pulse rising 2 /min a step towards the 120 /min rule; `without` leaves a sign out.
 */
function chartedVitals(end: number, without?: VitalSignName): VitalReading[] {
  const signs: [VitalSignName, (i: number) => number][] = [
    ["respiratoryRate", () => 16],
    ["oxygenSaturation", () => 97],
    ["systolic", () => 125],
    ["heartRate", (i) => 70 + 2 * i],
    ["bodyTemperature", () => 36.8],
  ];
  const readings: VitalReading[] = [];
  for (let i = 0; i < 24; i++) {
    for (const [sign, value] of signs) {
      if (sign === without) continue;
      readings.push(reading(sign, value(i), end - (23 - i) * STEP, { category: DataCategory.VITALS }));
    }
  }
  return readings;
}

async function harnessWith(without?: VitalSignName): Promise<GatewayHarness> {
  const f = await loadFixture(gatewayFixture);
  const end = ((await time.latest()) - 600) * 1000;
  const readings = chartedVitals(end, without);
  const version = new TwinEngine().apply({ records: [], readings, sourceHashes: [] });
  const data = new FakeTwinData();
  const proven: ProvenReading[] = readings.map((r) => ({ reading: r, anchor: null }));
  data.set(f.twinId, { version, anchor: f.state, records: [], readings: proven });
  const harness = new GatewayHarness(f, { data });
  await harness.open();
  return harness;
}

describe("predictive queries: early-warning and forecast", function () {
  let h: GatewayHarness;
  afterEach(async () => {
    await h.close();
  });

  describe("with a VITALS grant", () => {
    beforeEach(async () => {
      h = await harnessWith();
      await grant(h.f, h.f.clinician.address, {
        categories: DataCategory.VITALS,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
    });

    it("early-warning: the NEWS2 aggregate, sub-scores and band, with the scored readings and the state anchor", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(
          h.f.twinId,
          "early-warning",
          { oxygen: false, consciousness: "alert" },
          { purpose: Purpose.TREATMENT, category: DataCategory.VITALS },
        );
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) return;
      const { news2 } = result.body.answer;
      expect(news2.status).to.equal("complete");
      if (news2.status !== "complete") return;
      // Pulse 70 + 2·23 = 116 scores 2; everything else 0.
      expect(news2.score).to.equal(2);
      expect(news2.band).to.equal("low");
      expect(news2.items.find((i) => i.parameter === "pulse")).to.include({ value: 116, points: 2 });
      expect(news2.items).to.have.length(7);
      expect(result.body.proofs.state?.stateRoot).to.equal(h.f.state.stateRoot);
      expect(result.body.proofs.readings).to.have.length(5);
      const verdict = await verifyAnswer(result.body, { updateLog: h.f.updateLog });
      expect(verdict.checked.state).to.equal(true);
      expect(verdict.failures).to.deep.equal([
        "readings[0]: UNANCHORED",
        ...[1, 2, 3, 4].map((i) => `readings[${i}]: UNANCHORED`),
      ]);
    });

    it("forecast: points with intervals per sign over the horizon, and a forecast alert on the rising pulse", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "forecast", { hours: 2 }, { purpose: Purpose.TREATMENT, category: DataCategory.VITALS });
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) return;
      const { answer, proofs } = result.body;
      expect(answer.horizonHours).to.equal(2);
      const pulse = answer.forecasts.heartRate!;
      expect(pulse.points).to.have.length(8);
      for (const p of pulse.points) {
        expect(p.lower).to.be.at.most(p.value);
        expect(p.value).to.be.at.most(p.upper);
      }
      expect(pulse.points[0].value).to.be.closeTo(118, 1);
      expect(answer.alerts.map((a) => a.rule)).to.deep.equal(["heart-rate-high"]);
      expect(answer.alerts[0].leadMs).to.be.greaterThan(0);
      expect(Object.keys(answer.forecasts).sort()).to.deep.equal(
        ["bodyTemperature", "heartRate", "oxygenSaturation", "respiratoryRate", "systolic"].sort(),
      );
      expect(proofs.readings).to.have.length(5);
      expect(proofs.unanchoredReadings).to.equal(5 * 24);
    });

    it("forecast: 6 hours by default", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "forecast", {}, { purpose: Purpose.TREATMENT, category: DataCategory.VITALS });
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) return;
      expect(result.body.answer.horizonHours).to.equal(6);
      expect(result.body.answer.forecasts.heartRate?.points).to.have.length(24);
    });

    const bad: [string, "early-warning" | "forecast", Record<string, unknown>][] = [
      ["spo2Scale 3", "early-warning", { spo2Scale: 3 }],
      ["oxygen as a string", "early-warning", { oxygen: "yes" }],
      ["consciousness not ACVPU", "early-warning", { consciousness: "drowsy" }],
      ["an unknown param", "early-warning", { at: 5 }],
      ["hours 0", "forecast", { hours: 0 }],
      ["hours 25", "forecast", { hours: 25 }],
      ["hours 1.5", "forecast", { hours: 1.5 }],
    ];
    for (const [name, queryType, params] of bad) {
      it(`${queryType} with ${name}: 400 invalid-params`, async () => {
        const result = await h
          .client(h.f.clinician)
          .query(h.f.twinId, queryType, params as QueryParamsMap[typeof queryType], {
            purpose: Purpose.TREATMENT,
            category: DataCategory.VITALS,
          });
        expect(result.status).to.equal(400);
        expect(result.body).to.deep.include({ error: "invalid-params" });
      });
    }
  });

  it("refused without a VITALS grant (403, logged)", async () => {
    h = await harnessWith();
    await grant(h.f, h.f.clinician.address, {
      categories: DataCategory.CONDITIONS,
      actions: READ,
      purposes: Purpose.TREATMENT,
    });
    for (const queryType of ["early-warning", "forecast"] as const) {
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, queryType, {}, { purpose: Purpose.TREATMENT, category: DataCategory.VITALS });
      expect(result.status, queryType).to.equal(403);
      expect(result.ok).to.equal(false);
    }
  });

  it("early-warning: incomplete with the missing parameters when a vital is missing, never a zero", async () => {
    h = await harnessWith("bodyTemperature");
    await grant(h.f, h.f.clinician.address, {
      categories: DataCategory.VITALS,
      actions: READ,
      purposes: Purpose.TREATMENT,
    });
    const result = await h
      .client(h.f.clinician)
      .query(
        h.f.twinId,
        "early-warning",
        { oxygen: true },
        { purpose: Purpose.TREATMENT, category: DataCategory.VITALS },
      );
    expect(result.ok, JSON.stringify(result.body)).to.equal(true);
    if (!result.ok) return;
    const { news2 } = result.body.answer;
    expect(news2.status).to.equal("incomplete");
    if (news2.status !== "incomplete") return;
    expect(news2.missing).to.deep.equal(["consciousness", "temperature"]);
    expect(news2).to.not.have.property("score");
  });

  it("a WEARABLE_STREAMS reader is scored on the wearable readings only (the charted vitals left out)", async () => {
    h = await GatewayHarness.start();
    await grant(h.f, h.f.clinician.address, {
      categories: DataCategory.WEARABLE_STREAMS,
      actions: READ,
      purposes: Purpose.TREATMENT,
    });
    const result = await h
      .client(h.f.clinician)
      .query(h.f.twinId, "early-warning", {}, { purpose: Purpose.TREATMENT, category: DataCategory.WEARABLE_STREAMS });
    expect(result.ok, JSON.stringify(result.body)).to.equal(true);
    if (!result.ok) return;
    const { news2 } = result.body.answer;
    expect(news2.status).to.equal("incomplete");
    expect(news2.items.map((i) => i.parameter)).to.deep.equal(["pulse"]);
    const verdict = await verifyAnswer(result.body, { updateLog: h.f.updateLog });
    expect(verdict.failures).to.deep.equal([]);
    expect(verdict.checked.readings).to.equal(1);
  });
});
