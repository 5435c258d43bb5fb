import { expect } from "chai";
import type { VitalReading, VitalSignName } from "../../../src/fhir/records";
import {
  alertId,
  alerts,
  BASELINE_RULE_ID,
  buildTwinModel,
  DEFAULT_THRESHOLD_RULES,
  type BaselineAlert,
  type ThresholdAlert,
  type TwinAlert,
} from "../../../src/twin";
import { DAY, HOUR, MINUTE, reading, repeat, series, T0 } from "./builders";

function alertsOf(readings: readonly VitalReading[], options: Parameters<typeof buildTwinModel>[2] = {}): TwinAlert[] {
  // Baseline deviations are tested on their own below.
  return [...alerts(buildTwinModel([], readings, { baseline: { signs: [] }, ...options }))];
}

function only<T>(list: readonly T[]): T {
  expect(list).to.have.length(1);
  return list[0];
}

describe("twin alerts", () => {
  it("the default threshold table is the documented one", () => {
    expect(
      DEFAULT_THRESHOLD_RULES.map((r) => [r.id, r.sign, r.comparison, r.threshold, r.sustainMs, r.severity]),
    ).to.deep.equal([
      ["spo2-low", "oxygenSaturation", "<", 92, 0, "high"],
      ["heart-rate-high", "heartRate", ">", 120, 10 * MINUTE, "high"],
      ["systolic-high", "systolic", ">=", 180, 0, "critical"],
      ["diastolic-high", "diastolic", ">=", 120, 0, "critical"],
      ["fever", "bodyTemperature", ">=", 38, 0, "moderate"],
      ["glucose-low", "glucose", "<", 70, 0, "high"],
      ["glucose-high", "glucose", ">", 250, 0, "high"],
    ]);
    expect(Object.isFrozen(DEFAULT_THRESHOLD_RULES[0])).to.equal(true);
  });

  describe("fixed thresholds, each just inside and just outside", () => {
    const cases: [rule: string, sign: VitalSignName, normal: number, breaching: number][] = [
      ["spo2-low", "oxygenSaturation", 92, 91.9],
      ["systolic-high", "systolic", 179.9, 180],
      ["diastolic-high", "diastolic", 119.9, 120],
      ["fever", "bodyTemperature", 37.99, 38.0],
      ["glucose-low", "glucose", 70, 69.9],
      ["glucose-high", "glucose", 250, 250.1],
    ];
    for (const [rule, sign, normal, breaching] of cases) {
      it(`${rule}: ${normal} does not alert, ${breaching} does`, () => {
        expect(alertsOf([reading(sign, normal, T0)])).to.deep.equal([]);
        const alert = only(alertsOf([reading(sign, breaching, T0)])) as ThresholdAlert;
        expect(alert).to.include({ kind: "threshold", rule, sign, startAt: T0, triggeredAt: T0, status: "open" });
        expect(alert.worst).to.equal(breaching);
        expect(alert.endAt).to.equal(null);
      });
    }

    it("heart rate: 120 /min for 30 minutes does not alert, 121 does", () => {
      expect(alertsOf(series("heartRate", T0, MINUTE, repeat(120, 31)))).to.deep.equal([]);
      expect(only(alertsOf(series("heartRate", T0, MINUTE, repeat(121, 31)))).rule).to.equal("heart-rate-high");
    });
  });

  describe("sustained heart rate", () => {
    it("a single spike does not alert", () => {
      const readings = series("heartRate", T0, MINUTE, [80, 80, 180, 80, 80]);
      expect(alertsOf(readings)).to.deep.equal([]);
    });

    it("9 minutes above 120 do not alert, 10 minutes do (triggered at the 10th minute)", () => {
      const nineMinutes = series("heartRate", T0, MINUTE, [...repeat(130, 10), 80]);
      expect(alertsOf(nineMinutes)).to.deep.equal([]);

      const tenMinutes = series("heartRate", T0, MINUTE, [...repeat(130, 11), 80]);
      const alert = only(alertsOf(tenMinutes)) as ThresholdAlert;
      expect(alert).to.include({
        rule: "heart-rate-high",
        startAt: T0,
        triggeredAt: T0 + 10 * MINUTE,
        lastBreachAt: T0 + 10 * MINUTE,
        endAt: T0 + 11 * MINUTE,
        status: "resolved",
        readingCount: 11,
        threshold: 120,
        comparison: ">",
        sustainMs: 10 * MINUTE,
        severity: "high",
      });
    });

    it("a normal reading in between restarts the episode", () => {
      const readings = series("heartRate", T0, MINUTE, [...repeat(130, 6), 100, ...repeat(130, 6)]);
      expect(alertsOf(readings)).to.deep.equal([]);
    });

    it("a gap longer than 5 minutes restarts the clock", () => {
      const readings = [
        ...series("heartRate", T0, MINUTE, repeat(130, 6)), // 0..5 min
        ...series("heartRate", T0 + 11 * MINUTE, MINUTE, repeat(130, 6)), // 11..16 min: gap of 6 min
      ];
      expect(alertsOf(readings)).to.deep.equal([]);
      const closer = [
        ...series("heartRate", T0, MINUTE, repeat(130, 6)), // 0..5 min
        ...series("heartRate", T0 + 10 * MINUTE, MINUTE, repeat(130, 1)), // gap of exactly 5 min
      ];
      expect(only(alertsOf(closer)).triggeredAt).to.equal(T0 + 10 * MINUTE);
    });

    it("reports the episode's range and worst value", () => {
      const readings = series("heartRate", T0, MINUTE, [125, 140, 150, 131, 128, 122, 124, 126, 127, 129, 133]);
      const alert = only(alertsOf(readings)) as ThresholdAlert;
      expect(alert).to.include({ min: 122, max: 150, worst: 150, status: "open", endAt: null });
    });
  });

  describe("alert identity and lifecycle", () => {
    it("ids are keccak256 of rule, sign and episode start, stable as the episode grows", () => {
      const first = only(alertsOf(series("oxygenSaturation", T0, MINUTE, [95, 90, 89])));
      expect(first.id).to.equal(alertId("spo2-low", "oxygenSaturation", T0 + MINUTE));
      expect(first.id).to.match(/^0x[0-9a-f]{64}$/);
      const later = only(alertsOf(series("oxygenSaturation", T0, MINUTE, [95, 90, 89, 88, 96])));
      expect(later.id).to.equal(first.id);
      expect(later).to.include({ status: "resolved", endAt: T0 + 4 * MINUTE, readingCount: 3, worst: 88 });
    });

    it("separate episodes give separate alerts, ordered by start", () => {
      const list = alertsOf(series("glucose", T0, HOUR, [65, 90, 260, 100, 60]));
      expect(list.map((a) => [a.rule, a.startAt])).to.deep.equal([
        ["glucose-low", T0],
        ["glucose-high", T0 + 2 * HOUR],
        ["glucose-low", T0 + 4 * HOUR],
      ]);
      expect(list.map((a) => a.status)).to.deep.equal(["resolved", "resolved", "open"]);
    });

    it("the threshold table is configurable", () => {
      const readings = [reading("oxygenSaturation", 91, T0)];
      expect(alertsOf(readings)).to.have.length(1);
      const rules = [
        {
          id: "spo2-very-low",
          sign: "oxygenSaturation",
          comparison: "<",
          threshold: 90,
          sustainMs: 0,
          severity: "critical",
        },
      ] as const;
      expect(alertsOf(readings, { thresholdRules: rules })).to.deep.equal([]);
      expect(only(alertsOf([reading("oxygenSaturation", 89, T0)], { thresholdRules: rules }))).to.include({
        rule: "spo2-very-low",
        severity: "critical",
      });
    });

    it("converted units meet the thresholds in canonical units", () => {
      // 100.4 °F = 38.0 Cel, 3.8 mmol/L = 68.46 mg/dL.
      expect(only(alertsOf([reading("bodyTemperature", 100.4, T0, { unit: "[degF]" })])).rule).to.equal("fever");
      expect(alertsOf([reading("bodyTemperature", 100.3, T0, { unit: "[degF]" })])).to.deep.equal([]);
      expect(only(alertsOf([reading("glucose", 3.8, T0, { unit: "mmol/L" })])).rule).to.equal("glucose-low");
    });
  });

  describe("deviation from the patient's own baseline", () => {
    /** `count` hourly readings alternating 60 and 62 /min (mean 61), ending an hour before `end`. */
    function baseline(count: number, end: number): VitalReading[] {
      return Array.from({ length: count }, (_, i) =>
        reading("heartRate", i % 2 === 0 ? 60 : 62, end - (count - i) * HOUR),
      );
    }
    // The z-score arithmetic on its own: no minimum span, no sustain (both tested below).
    const build = (readings: VitalReading[], minSamples = 20) =>
      buildTwinModel([], readings, {
        baseline: { minSamples, minSpanMs: 0 },
        signProfiles: { heartRate: { baselineSustainMs: 0 } },
      });
    const baselineAlerts = (readings: VitalReading[], minSamples?: number) =>
      alerts(build(readings, minSamples), { kind: "baseline" }) as readonly BaselineAlert[];

    it("a reading more than 3 standard deviations off alerts, one just within does not", () => {
      // 20 readings alternating 60/62: mean 61, sample stddev sqrt(20/19) ≈ 1.026; z = 3 at ≈ 64.078.
      const sd = Math.sqrt(20 / 19);
      expect(baselineAlerts([...baseline(20, T0), reading("heartRate", 64.0, T0)])).to.deep.equal([]);
      const alert = only(baselineAlerts([...baseline(20, T0), reading("heartRate", 64.2, T0)]));
      expect(alert).to.include({
        kind: "baseline",
        rule: BASELINE_RULE_ID,
        direction: "above",
        startAt: T0,
        baselineCount: 20,
        worst: 64.2,
        zThreshold: 3,
        baselineWindowMs: 7 * DAY,
        severity: "moderate",
        status: "open",
      });
      expect(alert.baselineMean).to.be.closeTo(61, 1e-9);
      expect(alert.baselineStdDev).to.be.closeTo(sd, 1e-9);
      expect(alert.worstZ).to.be.closeTo((64.2 - 61) / sd, 1e-9);
      expect(alert.id).to.equal(alertId(BASELINE_RULE_ID, "heartRate", T0));
    });

    it("falls below the baseline too", () => {
      const alert = only(baselineAlerts([...baseline(30, T0), reading("heartRate", 50, T0)]));
      expect(alert.direction).to.equal("below");
      expect(alert.worstZ).to.be.lessThan(-3);
    });

    it("needs the minimum number of baseline readings", () => {
      const deviating = reading("heartRate", 90, T0);
      expect(baselineAlerts([...baseline(19, T0), deviating])).to.deep.equal([]);
      expect(baselineAlerts([...baseline(20, T0), deviating])).to.have.length(1);
      expect(baselineAlerts([...baseline(20, T0), deviating], 21)).to.deep.equal([]);
    });

    it("only counts the preceding 7 days, [t − 7 d, t)", () => {
      const readings = baseline(20, T0); // T0 − 20 h … T0 − 1 h
      const oldest = T0 - 20 * HOUR;
      // At oldest + 7 d the oldest reading is the window's inclusive start: 20 baseline readings.
      expect(baselineAlerts([...readings, reading("heartRate", 90, oldest + 7 * DAY)])).to.have.length(1);
      // One millisecond later it has left the window: 19, too few.
      expect(baselineAlerts([...readings, reading("heartRate", 90, oldest + 7 * DAY + 1)])).to.deep.equal([]);
    });

    it("a flat baseline uses the sign's stddev floor (1 /min for heart rate)", () => {
      const flat = Array.from({ length: 20 }, (_, i) => reading("heartRate", 60, T0 - (20 - i) * HOUR));
      expect(baselineAlerts([...flat, reading("heartRate", 63, T0)])).to.deep.equal([]);
      expect(only(baselineAlerts([...flat, reading("heartRate", 63.5, T0)])).worstZ).to.be.closeTo(3.5, 1e-9);
    });

    it("by default the baseline must reach back 24 hours", () => {
      // Systolic alerts on one deviating reading; 120/122 alternating, 150 is far off but below 180.
      const hourly = (count: number) =>
        Array.from({ length: count }, (_, i) => reading("systolic", i % 2 === 0 ? 120 : 122, T0 - (count - i) * HOUR));
      const deviating = reading("systolic", 150, T0);
      expect(alerts(buildTwinModel([], [...hourly(23), deviating]))).to.deep.equal([]); // 23 h back
      const alert = only(alerts(buildTwinModel([], [...hourly(24), deviating]))) as BaselineAlert;
      expect(alert).to.include({ rule: BASELINE_RULE_ID, sign: "systolic", sustainMs: 0, baselineCount: 24 });
    });

    it("a streamed sign needs a deviation sustained for 10 minutes, a spike does not alert", () => {
      // Two days at one reading a minute alternating 60/62, then a run at 95 /min (below 120).
      const dense = Array.from({ length: 2 * 24 * 60 }, (_, i) =>
        reading("heartRate", i % 2 === 0 ? 60 : 62, T0 - (2 * 24 * 60 - i) * MINUTE),
      );
      const run = (minutes: number) => series("heartRate", T0, MINUTE, [...repeat(95, minutes + 1), 61]);
      const baselineOnly = (readings: VitalReading[]) => alerts(buildTwinModel([], readings), { kind: "baseline" });
      expect(baselineOnly([...dense, ...run(0)])).to.deep.equal([]); // a spike
      expect(baselineOnly([...dense, ...run(9)])).to.deep.equal([]);
      const alert = only(baselineOnly([...dense, ...run(10)])) as BaselineAlert;
      expect(alert).to.include({
        direction: "above",
        startAt: T0,
        triggeredAt: T0 + 10 * MINUTE,
        endAt: T0 + 11 * MINUTE,
        readingCount: 11,
        sustainMs: 10 * MINUTE,
      });
    });
  });

  it("never writes to the console while building, applying or querying alerts", () => {
    const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
    const saved = methods.map((method) => console[method]);
    let calls = 0;
    methods.forEach((method) => {
      console[method] = () => {
        calls++;
      };
    });
    try {
      const readings = [
        ...series("heartRate", T0 - 30 * HOUR, HOUR, repeat(60, 30)),
        ...series("heartRate", T0, MINUTE, repeat(150, 15)),
      ];
      const version = buildTwinModel([], readings);
      expect(alerts(version).length).to.be.greaterThan(0);
      expect(() => buildTwinModel([], [reading("heartRate", Number.NaN, T0)])).to.throw();
    } finally {
      methods.forEach((method, i) => {
        console[method] = saved[i];
      });
    }
    expect(calls).to.equal(0);
  });
});
