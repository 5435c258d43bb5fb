import { expect } from "chai";
import {
  buildTwinModel,
  earlyWarning,
  news2Score,
  type News2Inputs,
  type News2Parameter,
  type News2Points,
} from "../../../src/twin";
import { HOUR, MINUTE, T0, reading } from "./builders";

/**
 * NEWS2 against the Royal College of Physicians' chart (2017), every boundary of every
 * parameter, then the aggregate bands of table 1.
 */

/** A normal observation set: every parameter scores 0. */
const NORMAL: News2Inputs = {
  respirationRate: 16,
  oxygenSaturation: 97,
  supplementalOxygen: false,
  systolicBloodPressure: 120,
  pulse: 70,
  consciousness: "alert",
  temperature: 37.0,
};

function pointsOf(parameter: News2Parameter, inputs: News2Inputs): News2Points {
  const result = news2Score({ ...NORMAL, ...inputs });
  return result.items.find((item) => item.parameter === parameter)!.points;
}

type Case = readonly [number, News2Points];
const TABLE: Readonly<Record<string, { parameter: News2Parameter; cases: readonly Case[] }>> = {
  "respiration rate": {
    parameter: "respirationRate",
    cases: [
      [4, 3],
      [8, 3],
      [9, 1],
      [11, 1],
      [12, 0],
      [20, 0],
      [21, 2],
      [24, 2],
      [25, 3],
      [40, 3],
    ],
  },
  "SpO2 scale 1": {
    parameter: "oxygenSaturation",
    cases: [
      [85, 3],
      [91, 3],
      [92, 2],
      [93, 2],
      [94, 1],
      [95, 1],
      [96, 0],
      [100, 0],
    ],
  },
  "systolic blood pressure": {
    parameter: "systolicBloodPressure",
    cases: [
      [70, 3],
      [90, 3],
      [91, 2],
      [100, 2],
      [101, 1],
      [110, 1],
      [111, 0],
      [219, 0],
      [220, 3],
      [250, 3],
    ],
  },
  pulse: {
    parameter: "pulse",
    cases: [
      [30, 3],
      [40, 3],
      [41, 1],
      [50, 1],
      [51, 0],
      [90, 0],
      [91, 1],
      [110, 1],
      [111, 2],
      [130, 2],
      [131, 3],
      [180, 3],
    ],
  },
  temperature: {
    parameter: "temperature",
    cases: [
      [34.0, 3],
      [35.0, 3],
      [35.1, 1],
      [36.0, 1],
      [36.1, 0],
      [38.0, 0],
      [38.1, 1],
      [39.0, 1],
      [39.1, 2],
      [41.0, 2],
    ],
  },
};

describe("NEWS2", () => {
  for (const [name, { parameter, cases }] of Object.entries(TABLE)) {
    it(`${name}: every boundary of the chart`, () => {
      for (const [value, points] of cases)
        expect(pointsOf(parameter, { [parameter]: value }), `${value}`).to.equal(points);
    });
  }

  it("SpO2 scale 2: 88–92 % scores 0, and above 92 % only on oxygen scores", () => {
    const cases: [number, boolean, News2Points][] = [
      [80, false, 3],
      [83, false, 3],
      [84, false, 2],
      [85, true, 2],
      [86, false, 1],
      [87, true, 1],
      [88, false, 0],
      [92, true, 0],
      [93, false, 0],
      [100, false, 0],
      [93, true, 1],
      [94, true, 1],
      [95, true, 2],
      [96, true, 2],
      [97, true, 3],
      [100, true, 3],
    ];
    for (const [spo2, oxygen, points] of cases) {
      const inputs = { oxygenSaturation: spo2, supplementalOxygen: oxygen, spo2Scale: 2 as const };
      expect(pointsOf("oxygenSaturation", inputs), `${spo2} on ${oxygen ? "oxygen" : "air"}`).to.equal(points);
    }
  });

  it("air or oxygen: oxygen 2, air 0", () => {
    expect(pointsOf("supplementalOxygen", { supplementalOxygen: true })).to.equal(2);
    expect(pointsOf("supplementalOxygen", { supplementalOxygen: false })).to.equal(0);
  });

  it("consciousness: alert 0; new confusion, voice, pain or unresponsive 3", () => {
    expect(pointsOf("consciousness", { consciousness: "alert" })).to.equal(0);
    for (const level of ["new-confusion", "voice", "pain", "unresponsive"] as const) {
      expect(pointsOf("consciousness", { consciousness: level }), level).to.equal(3);
    }
  });

  it("values are charted as recorded: whole numbers (half up), temperature to one decimal", () => {
    expect(pointsOf("pulse", { pulse: 90.4 })).to.equal(0);
    expect(pointsOf("pulse", { pulse: 90.5 })).to.equal(1);
    expect(pointsOf("respirationRate", { respirationRate: 20.49 })).to.equal(0);
    expect(pointsOf("temperature", { temperature: 38.04 })).to.equal(0);
    expect(pointsOf("temperature", { temperature: 38.06 })).to.equal(1);
    expect(pointsOf("oxygenSaturation", { oxygenSaturation: 95.6 })).to.equal(0);
  });

  it("bands: 0–4 low, a single 3 low-medium, 5–6 medium, 7 or more high", () => {
    const band = (inputs: News2Inputs) => {
      const result = news2Score({ ...NORMAL, ...inputs });
      expect(result.status).to.equal("complete");
      return result.status === "complete" ? [result.score, result.band, result.redScore] : [];
    };
    expect(band({})).to.deep.equal([0, "low", false]);
    expect(band({ pulse: 115, respirationRate: 22 })).to.deep.equal([4, "low", false]);
    expect(band({ pulse: 131 })).to.deep.equal([3, "low-medium", true]);
    expect(band({ consciousness: "voice", temperature: 38.5 })).to.deep.equal([4, "low-medium", true]);
    expect(band({ supplementalOxygen: true, oxygenSaturation: 94, pulse: 111 })).to.deep.equal([5, "medium", false]);
    expect(band({ pulse: 131, respirationRate: 21 })).to.deep.equal([5, "medium", true]);
    expect(band({ supplementalOxygen: true, pulse: 111, respirationRate: 22 })).to.deep.equal([6, "medium", false]);
    expect(band({ respirationRate: 25, systolicBloodPressure: 95, pulse: 111 })).to.deep.equal([7, "high", true]);
    const worst = news2Score({
      respirationRate: 30,
      oxygenSaturation: 88,
      supplementalOxygen: true,
      systolicBloodPressure: 85,
      pulse: 140,
      consciousness: "unresponsive",
      temperature: 34,
    });
    expect(worst).to.include({ status: "complete", score: 20, band: "high", response: "urgent or emergency response" });
  });

  it("a missing parameter makes it incomplete, never a zero", () => {
    const { temperature: _t, consciousness: _c, ...rest } = NORMAL;
    const result = news2Score(rest);
    expect(result.status).to.equal("incomplete");
    expect(result).to.not.have.property("score");
    expect(result.status === "incomplete" && result.missing).to.deep.equal(["consciousness", "temperature"]);
    expect(result.items).to.have.length(5);
  });

  it("refuses values that are not measurements", () => {
    expect(() => news2Score({ ...NORMAL, pulse: Number.NaN })).to.throw(/pulse/);
    expect(() => news2Score({ ...NORMAL, consciousness: "drowsy" as "alert" })).to.throw(/consciousness/);
  });

  describe("from a twin", () => {
    const vitals = [
      reading("respiratoryRate", 22, T0),
      reading("oxygenSaturation", 93, T0 + MINUTE),
      reading("systolic", 105, T0),
      reading("heartRate", 112, T0 + 2 * MINUTE),
      reading("bodyTemperature", 38.4, T0 - HOUR),
    ];

    it("takes the latest vitals and the caller's oxygen and consciousness", () => {
      const twin = buildTwinModel([], [...vitals, reading("heartRate", 80, T0 - HOUR)]);
      const result = earlyWarning(twin, { supplementalOxygen: false, consciousness: "alert" });
      // RR 22 → 2, SpO2 93 → 2, air 0, SBP 105 → 1, pulse 112 → 2, alert 0, 38.4 → 1
      expect(result).to.include({ status: "complete", score: 8, band: "high" });
      expect(result.items.find((i) => i.parameter === "pulse")).to.deep.equal({
        parameter: "pulse",
        value: 112,
        points: 2,
        at: T0 + 2 * MINUTE,
      });
    });

    it("is incomplete without oxygen and consciousness, or with a vital older than maxAgeMs", () => {
      const twin = buildTwinModel([], vitals);
      const without = earlyWarning(twin);
      expect(without.status === "incomplete" && without.missing).to.deep.equal(["supplementalOxygen", "consciousness"]);
      const stale = earlyWarning(twin, { supplementalOxygen: false, consciousness: "alert", maxAgeMs: 30 * MINUTE });
      expect(stale.status === "incomplete" && stale.missing).to.deep.equal(["temperature"]);
    });

    it("scores the twin as it was at an earlier time", () => {
      const twin = buildTwinModel([], [...vitals, reading("heartRate", 80, T0 - HOUR)]);
      const earlier = earlyWarning(twin, { supplementalOxygen: false, consciousness: "alert", at: T0 + MINUTE });
      expect(earlier.items.find((i) => i.parameter === "pulse")).to.include({ value: 80, points: 0 });
    });
  });
});
