import { expect } from "chai";
import type { VitalReading, VitalSignName } from "../../../src/fhir/records";
import {
  alerts,
  buildTwinModel,
  earlyWarning,
  forecastAlerts,
  forecastSeries,
  forecastVitals,
  resolveConfig,
  TwinEngine,
} from "../../../src/twin";
import { HOUR, MINUTE, T0, reading } from "./builders";

/** A deterministic noise in [−1, 1). */
function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  };
}

/** One reading a minute for `minutes`, value = f(minute). */
function minutes(sign: VitalSignName, count: number, f: (i: number) => number, start = T0): VitalReading[] {
  return Array.from({ length: count }, (_, i) => reading(sign, Math.round(f(i) * 10) / 10, start + i * MINUTE));
}

describe("twin forecasts (Holt's linear method)", () => {
  it("continues a straight line exactly, with a zero-width interval", () => {
    const series = Array.from({ length: 40 }, (_, i) => reading("heartRate", 70 + 0.5 * i, T0 + i * 15 * MINUTE));
    const forecast = forecastSeries("heartRate", series, { horizonMs: 2 * HOUR })!;
    expect(forecast.points).to.have.length(8);
    forecast.points.forEach((p, k) => {
      expect(p.at).to.equal(T0 + (39 + k + 1) * 15 * MINUTE);
      expect(p.value).to.be.closeTo(70 + 0.5 * (39 + k + 1), 1e-9);
      expect(p.upper - p.lower).to.be.closeTo(0, 1e-9);
    });
  });

  it("gives intervals that widen with the horizon and hold the value", () => {
    const next = noise(7);
    const series = minutes("heartRate", 24 * 60, () => 75 + 4 * next());
    const forecast = forecastSeries("heartRate", series)!;
    expect(forecast.points).to.have.length(24); // 6 hours of 15-minute steps
    for (let k = 1; k < forecast.points.length; k++) {
      const [a, b] = [forecast.points[k - 1], forecast.points[k]];
      expect(b.upper - b.lower).to.be.at.least(a.upper - a.lower);
      expect(b.lower).to.be.below(b.value);
      expect(b.upper).to.be.above(b.value);
    }
    // A flat series forecasts about flat, its mean inside the interval six hours on.
    expect(forecast.points[23].value).to.be.closeTo(75, 3);
    expect(forecast.points[23].lower).to.be.below(75);
    expect(forecast.points[23].upper).to.be.above(75);
  });

  it("its 95 % interval one step ahead holds about 95 % of what comes (seeded)", () => {
    const next = noise(11);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      // A random walk with drift, one bucket a step.
      let value = 80;
      const values = Array.from({ length: 61 }, () => (value += 0.2 + 1.5 * next()));
      const series = values.slice(0, 60).map((v, i) => reading("heartRate", v, T0 + i * 15 * MINUTE));
      const point = forecastSeries("heartRate", series, { horizonMs: 15 * MINUTE })!.points[0];
      if (values[60] >= point.lower && values[60] <= point.upper) covered++;
    }
    expect(covered / trials).to.be.within(0.85, 1);
  });

  it("needs enough buckets with readings", () => {
    expect(
      forecastSeries(
        "heartRate",
        minutes("heartRate", 3, () => 70),
      ),
    ).to.equal(undefined);
    expect(forecastSeries("heartRate", [])).to.equal(undefined);
    expect(() => forecastSeries("heartRate", [], { level: 0.5 as 0.95 })).to.throw(/level/);
  });

  describe("forecast alerts", () => {
    const config = resolveConfig();
    const next = noise(3);
    // SpO2 falls from 97 % by 1 % an hour: 93.0 % after four hours, below 92 % after five.
    const falling = minutes("oxygenSaturation", 10 * 60, (i) => 97 - i / 60 + 0.2 * next());

    it("warns before the measured value crosses the threshold, and says when", () => {
      const fourHours = falling.slice(0, 4 * 60);
      const twin = buildTwinModel([], fourHours);
      expect(alerts(twin)).to.deep.equal([]);
      const [alert] = forecastAlerts(twin, config);
      expect(alert).to.include({ kind: "forecast", rule: "spo2-low", sign: "oxygenSaturation", severity: "high" });
      expect(alert.basedOnAt).to.equal(fourHours[fourHours.length - 1].at);
      expect(alert.forecast).to.be.below(92);
      // The measured alert comes later, at the first reading below 92 %: the forecast led it.
      const later = buildTwinModel([], falling);
      const measured = alerts(later, { kind: "threshold", sign: "oxygenSaturation" })[0];
      expect(measured.startAt).to.be.above(alert.basedOnAt);
      expect(Math.abs(alert.expectedAt - measured.startAt)).to.be.below(HOUR);
    });

    it("stays silent when the measured value already breaches (a measured alert covers it) or nothing is coming", () => {
      expect(forecastAlerts(buildTwinModel([], falling), config)).to.deep.equal([]);
      const steady = buildTwinModel(
        [],
        minutes("oxygenSaturation", 6 * 60, () => 97 + 0.3 * next()),
      );
      expect(forecastAlerts(steady, config)).to.deep.equal([]);
    });
  });

  it("NEWS2 and a 6-hour forecast of every sign of one twin: the time it takes (printed, target ≤ 5 ms)", () => {
    const next = noise(5);
    const signs: [VitalSignName, number, number][] = [
      ["heartRate", 80, 5],
      ["oxygenSaturation", 96, 1],
      ["systolic", 125, 6],
      ["respiratoryRate", 16, 2],
      ["bodyTemperature", 37, 0.2],
    ];
    const engine = new TwinEngine();
    engine.apply({
      readings: signs.flatMap(([sign, mean, swing]) => minutes(sign, 24 * 60, () => mean + swing * next())),
    });
    const version = engine.current;
    const run = () => {
      const score = earlyWarning(version, { supplementalOxygen: false, consciousness: "alert" });
      const forecasts = forecastVitals(version, { horizonMs: 6 * HOUR });
      const raised = forecastAlerts(version, engine.config, { horizonMs: 6 * HOUR });
      return { score, forecasts, raised };
    };
    const first = run();
    expect(first.score.status).to.equal("complete");
    expect(Object.keys(first.forecasts).sort()).to.deep.equal(signs.map(([s]) => s).sort());
    const times: number[] = [];
    for (let k = 0; k < 200; k++) {
      const started = performance.now();
      run();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(
      `      NEWS2 + 6-hour forecasts of 5 signs (a day of minute readings each): ` +
        `${times[100].toFixed(2)} ms median, ${times[190].toFixed(2)} ms p95`,
    );
  });
});
