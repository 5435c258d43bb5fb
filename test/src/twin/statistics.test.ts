import { expect } from "chai";
import { buildTwinModel, type VitalWindow } from "../../../src/twin";
import { DAY, HOUR, MINUTE, reading, series, T0 } from "./builders";

function windowOf(windows: readonly VitalWindow[] | undefined, label: string): VitalWindow {
  const window = windows?.find((w) => w.label === label);
  if (window === undefined) throw new Error(`no window ${label}`);
  return window;
}

describe("twin window statistics and trends", () => {
  // Heart rate at 0, 30, 65, 90 and 120 minutes: 60, 70, 80, 90, 100; asOf = T0 + 2 h.
  const readings = [
    reading("heartRate", 90, T0 + 90 * MINUTE),
    reading("heartRate", 60, T0),
    reading("heartRate", 100, T0 + 120 * MINUTE),
    reading("heartRate", 70, T0 + 30 * MINUTE),
    reading("heartRate", 80, T0 + 65 * MINUTE),
  ];

  it("computes count, min, max, mean, sample stddev and median per window (hand-computed)", () => {
    const { model } = buildTwinModel([], readings);
    expect(model.asOf).to.equal(T0 + 2 * HOUR);
    const vital = model.vitals.heartRate;
    expect(vital).to.include({ count: 5, firstAt: T0, lastAt: T0 + 2 * HOUR, unit: "/min" });

    // Last hour, (T0 + 1 h, T0 + 2 h]: 80, 90, 100.
    const hour = windowOf(vital?.windows, "1h");
    expect(hour).to.include({ from: T0 + HOUR, to: T0 + 2 * HOUR, durationMs: HOUR });
    expect(hour.stats).to.deep.equal({ count: 3, min: 80, max: 100, mean: 90, stddev: 10, p50: 90 });

    // Last 24 h: all five, mean 80, stddev sqrt((400 + 100 + 0 + 100 + 400) / 4) = sqrt(250).
    const day = windowOf(vital?.windows, "24h").stats;
    expect(day).to.include({ count: 5, min: 60, max: 100, mean: 80, p50: 80 });
    expect(day.stddev).to.be.closeTo(Math.sqrt(250), 1e-12);
  });

  it("excludes a reading exactly at the window's start and takes the median of an even count", () => {
    const withBoundary = [...readings, reading("heartRate", 75, T0 + HOUR)];
    const hour = windowOf(buildTwinModel([], withBoundary).model.vitals.heartRate?.windows, "1h").stats;
    expect(hour.count).to.equal(3);

    const even = [...readings, reading("heartRate", 85, T0 + 110 * MINUTE)]; // 80, 85, 90, 100
    const evenHour = windowOf(buildTwinModel([], even).model.vitals.heartRate?.windows, "1h").stats;
    expect(evenHour).to.include({ count: 4, p50: 87.5, mean: 88.75 });
  });

  it("windows end at the given asOf; an empty window has a count of 0 and nulls", () => {
    const { model } = buildTwinModel([], readings, { asOf: T0 + 5 * HOUR });
    const hour = windowOf(model.vitals.heartRate?.windows, "1h");
    expect(hour.stats).to.deep.equal({ count: 0, min: null, max: null, mean: null, stddev: null, p50: null });
    expect(hour.trend).to.deep.equal({ slopePerHour: null, direction: "insufficient-data", stableSlopePerHour: 2 });
    expect(windowOf(model.vitals.heartRate?.windows, "24h").stats.count).to.equal(5);
  });

  it("a single reading has a stddev of 0", () => {
    const stats = windowOf(buildTwinModel([], [reading("glucose", 110, T0)]).model.vitals.glucose?.windows, "1h").stats;
    expect(stats).to.deep.equal({ count: 1, min: 110, max: 110, mean: 110, stddev: 0, p50: 110 });
  });

  it("custom windows", () => {
    const { model } = buildTwinModel([], readings, { windows: [{ label: "30m", durationMs: 30 * MINUTE }] });
    const windows = model.vitals.heartRate?.windows ?? [];
    expect(windows.map((w) => w.label)).to.deep.equal(["30m"]);
    // (T0 + 90 min, T0 + 120 min]: the reading at 90 min is on the exclusive start.
    expect(windows[0].stats).to.include({ count: 1, mean: 100 });
  });

  describe("trends", () => {
    it("least-squares slope per hour (hand-computed)", () => {
      // (0 h, 10), (1 h, 12), (2 h, 17): x̄ = 1, ȳ = 13, Sxy = 3 + 0 + 4 = 7, Sxx = 2: slope 3.5.
      const glucose = series("glucose", T0, HOUR, [110, 112, 117]);
      const { trend } = windowOf(buildTwinModel([], glucose).model.vitals.glucose?.windows, "24h");
      expect(trend.slopePerHour).to.be.closeTo(3.5, 1e-12);
      expect(trend.direction).to.equal("stable"); // |3.5| ≤ 10 mg/dL per hour
    });

    it("labels rising, falling and stable against the sign's threshold (2 /min per hour for heart rate)", () => {
      const rising = series(
        "heartRate",
        T0,
        MINUTE,
        Array.from({ length: 61 }, (_, i) => 60 + i / 10),
      ); // 6 /h
      const falling = series(
        "heartRate",
        T0,
        MINUTE,
        Array.from({ length: 61 }, (_, i) => 90 - i / 20),
      ); // −3 /h
      const direction = (r: typeof rising) =>
        windowOf(buildTwinModel([], r).model.vitals.heartRate?.windows, "1h").trend;
      expect(direction(rising).slopePerHour).to.be.closeTo(6, 1e-9);
      expect(direction(rising).direction).to.equal("rising");
      expect(direction(falling).slopePerHour).to.be.closeTo(-3, 1e-9);
      expect(direction(falling).direction).to.equal("falling");
      const flat = series("heartRate", T0, MINUTE, [70, 72, 71, 71, 72, 70]);
      expect(direction(flat).slopePerHour).to.be.closeTo(0, 1e-9);
      expect(direction(flat).direction).to.equal("stable");
    });

    it("a slope of exactly the threshold is stable, just above it is not", () => {
      const trend = (values: number[]) =>
        windowOf(buildTwinModel([], series("heartRate", T0, HOUR, values)).model.vitals.heartRate?.windows, "24h")
          .trend;
      expect(trend([70, 72, 74])).to.deep.include({ slopePerHour: 2, direction: "stable" });
      expect(trend([70, 68, 66])).to.deep.include({ slopePerHour: -2, direction: "stable" });
      expect(trend([70, 72.01, 74.02]).direction).to.equal("rising");
      expect(trend([70, 67.99, 65.98]).direction).to.equal("falling");
    });

    it("needs the minimum number of points", () => {
      const two = series("heartRate", T0, 10 * MINUTE, [60, 90]);
      const trend = windowOf(buildTwinModel([], two).model.vitals.heartRate?.windows, "1h").trend;
      expect(trend.slopePerHour).to.be.closeTo(180, 1e-9);
      expect(trend.direction).to.equal("insufficient-data");
      const withTwo = buildTwinModel([], two, { trendMinPoints: 2 }).model.vitals.heartRate?.windows;
      expect(windowOf(withTwo, "1h").trend.direction).to.equal("rising");
    });

    it("per-sign thresholds are configurable", () => {
      const glucose = series("glucose", T0, HOUR, [110, 112, 117]);
      const { trend } = windowOf(
        buildTwinModel([], glucose, { signProfiles: { glucose: { stableSlopePerHour: 3 } } }).model.vitals.glucose
          ?.windows,
        "24h",
      );
      expect(trend).to.include({ direction: "rising", stableSlopePerHour: 3 });
    });

    it("covers a week", () => {
      const weight = series("bodyWeight", T0, DAY, [80, 79.8, 79.6, 79.4, 79.2, 79.0, 78.8]);
      const { trend } = windowOf(buildTwinModel([], weight).model.vitals.bodyWeight?.windows, "7d");
      expect(trend.slopePerHour).to.be.closeTo(-0.2 / 24, 1e-9);
      expect(trend.direction).to.equal("falling");
    });
  });
});
