import { expect } from "chai";
import fc from "fast-check";
import type { VitalReading, VitalSignName } from "../../../src/fhir/records";
import {
  buildTwinModel,
  earlyWarning,
  forecastAlerts,
  TwinEngine,
  TwinEngineError,
  type TwinBatch,
  type TwinVersion,
} from "../../../src/twin";
import { HOUR, MINUTE, T0, condition, reading, series, sourceHash } from "./builders";

/**
 * Issue 15, device provenance: readings of a flagged device are set aside in the engine's screened view (statistics,
 * trends, alerts, NEWS2, forecasts), the committed version is unchanged, and flagging recomputes only the signs that
 * hold readings of the device.
 */

const GOOD = "0x1111111111111111111111111111111111111111";
/** A checksummed address: the screen matches DeviceRegistry ids in any case. */
const RECALLED = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01";
const OBSERVED = { supplementalOxygen: false, consciousness: "alert" } as const;

/** Eight calm hours from GOOD (every 15 min); RECALLED's heart rate climbs to 118 and its SpO2 reads 88. */
function deteriorationFromRecalledDevice(): VitalReading[] {
  const quarter = 15 * MINUTE;
  const calm = (sign: VitalSignName, value: number) =>
    series(sign, T0, quarter, Array<number>(33).fill(value), { source: GOOD });
  const climbing = Array.from({ length: 49 }, (_, k) =>
    reading("heartRate", 80 + Math.round((38 * k) / 48), T0 + 4 * HOUR + k * 5 * MINUTE + MINUTE, {
      source: RECALLED,
    }),
  );
  const lowSpo2 = [0, 1, 2].map((k) =>
    reading("oxygenSaturation", 88, T0 + 8 * HOUR + MINUTE - k * 20 * MINUTE, { source: RECALLED }),
  );
  return [
    ...calm("respiratoryRate", 16),
    ...calm("oxygenSaturation", 97),
    ...calm("systolic", 125),
    ...calm("heartRate", 72),
    ...calm("bodyTemperature", 37),
    ...climbing,
    ...lowSpo2,
  ];
}

function heartRateForecastAlerts(engine: TwinEngine, version: TwinVersion) {
  return forecastAlerts(version, engine.config).filter((alert) => alert.sign === "heartRate");
}

describe("TwinEngine: flagged devices", () => {
  it("sets a flagged device's readings aside from NEWS2, trends, statistics, alerts and forecasts", () => {
    const engine = new TwinEngine();
    const committed = engine.apply({ readings: deteriorationFromRecalledDevice() });
    expect(engine.screened).to.equal(committed); // nothing flagged: the version itself

    const before = earlyWarning(committed, OBSERVED);
    expect(before.status === "complete" && before.score).to.equal(5); // pulse 118 (2) + SpO2 88 (3)
    expect(committed.model.alerts.map((a) => a.rule)).to.include("spo2-low");
    expect(committed.model.vitals.heartRate!.windows.at(-1)!.trend.direction).to.equal("rising");
    expect(heartRateForecastAlerts(engine, committed)).to.have.length.greaterThan(0);

    const recomputed = engine.setFlaggedDevices([RECALLED.toLowerCase()]);
    expect(recomputed).to.deep.equal(["heartRate", "oxygenSaturation"]);
    const screened = engine.screened;
    expect(engine.current).to.equal(committed); // the committed version and its roots are untouched
    expect(screened.stateRoot).to.equal(committed.stateRoot);
    expect(screened.setAside).to.deep.equal({
      flaggedDevice: 52,
      devices: [RECALLED.toLowerCase()],
      bySign: { heartRate: 49, oxygenSaturation: 3 },
    });
    expect(screened.setAsideReadings!.heartRate).to.have.length(49);
    expect(screened.setAsideReadings!.heartRate!.every((r) => r.source === RECALLED)).to.equal(true);

    const after = earlyWarning(screened, OBSERVED);
    expect(after.status === "complete" && after.score).to.equal(0);
    expect(screened.model.alerts.map((a) => a.rule)).to.not.include("spo2-low");
    expect(screened.model.vitals.heartRate!.latest.value).to.equal(72);
    expect(screened.model.vitals.heartRate!.count).to.equal(33);
    expect(screened.model.vitals.heartRate!.windows.at(-1)!.trend.direction).to.equal("stable");
    expect(screened.readings.heartRate!.every((r) => r.source === GOOD)).to.equal(true);
    expect(heartRateForecastAlerts(engine, screened)).to.deep.equal([]);
    expect(screened.model.asOf).to.equal(committed.model.asOf);
    // signs without the device's readings are the committed version's own
    expect(screened.model.vitals.systolic).to.equal(committed.model.vitals.systolic);
    expect(screened.readings.systolic).to.equal(committed.readings.systolic);
    expect(engine.screened).to.equal(screened); // kept while neither the version nor the set changes

    expect(engine.setFlaggedDevices([])).to.deep.equal(["heartRate", "oxygenSaturation"]);
    expect(engine.screened).to.equal(committed); // unflagged: restored
    expect(earlyWarning(engine.screened, OBSERVED)).to.deep.equal(before);
  });

  it("flagging recomputes only the signs holding the device's readings", () => {
    const engine = new TwinEngine();
    engine.apply({
      readings: [
        ...series("systolic", T0, MINUTE, Array<number>(500).fill(120), { source: GOOD }),
        ...series("heartRate", T0, MINUTE, Array<number>(10).fill(70), { source: RECALLED }),
      ],
    });
    expect(engine.setFlaggedDevices([RECALLED])).to.deep.equal(["heartRate"]);
    expect(engine.lastApplyWork).to.be.lessThan(50); // the 10 heart-rate readings, not the 500 systolic ones
    expect(engine.setFlaggedDevices([RECALLED, "Device/unseen"])).to.deep.equal([]);
    expect(engine.screened.model.vitals.heartRate).to.equal(undefined); // every heart-rate reading set aside
    expect(engine.screened.readings.heartRate).to.equal(undefined);
    // new readings of a screened sign are appended to its screened track, not rescreened from scratch
    engine.apply({ readings: [reading("heartRate", 71, T0 + 20 * MINUTE, { source: GOOD })] });
    expect(engine.screened.model.vitals.heartRate!.count).to.equal(1);
    expect(engine.screened.setAside!.flaggedDevice).to.equal(10);
  });

  it("refuses an empty device id, and resuming from a screened view", () => {
    const engine = new TwinEngine();
    expect(() => engine.setFlaggedDevices([""])).to.throw(TwinEngineError);
    engine.apply({ readings: [reading("heartRate", 70, T0, { source: RECALLED })] });
    engine.setFlaggedDevices([RECALLED]);
    expect(() => new TwinEngine({}, engine.screened)).to.throw(TwinEngineError, /screened/);
  });

  const DEVICES = [RECALLED, "Device/b"] as const;
  const SIGNS: readonly [VitalSignName, number, number][] = [
    ["heartRate", 90, 50],
    ["oxygenSaturation", 94, 6],
    ["systolic", 150, 45],
  ];
  const readingArb: fc.Arbitrary<VitalReading> = fc
    .record({
      sign: fc.integer({ min: 0, max: SIGNS.length - 1 }),
      minute: fc.integer({ min: 0, max: 2 * 24 * 60 }),
      offset: fc.double({ min: -1, max: 1, noNaN: true }),
      source: fc.constantFrom(undefined, RECALLED, RECALLED.toLowerCase(), "Device/b", "Device/c"),
    })
    .map(({ sign, minute, offset, source }) => {
      const [name, mean, swing] = SIGNS[sign];
      return reading(name, Math.round((mean + offset * swing) * 10) / 10, T0 + minute * MINUTE, { source });
    });
  type Step = { apply: TwinBatch } | { flag: string[] };
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc
      .record({ readings: fc.array(readingArb, { maxLength: 25 }), records: fc.constantFrom([], [condition("htn")]) })
      .map((batch) => ({ apply: { ...batch, sourceHashes: [sourceHash("s")] } })),
    fc.subarray([...DEVICES]).map((flag) => ({ flag })),
  );

  it("property: the screened view equals the from-scratch build over the readings without the flagged devices", () => {
    const options = { baseline: { minSamples: 5, minSpanMs: HOUR, windowMs: 6 * HOUR } };
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 8 }), (steps) => {
        const engine = new TwinEngine(options);
        const fed: TwinBatch[] = [];
        let flagged: string[] = [];
        for (const step of steps) {
          if ("apply" in step) {
            engine.apply(step.apply);
            fed.push(step.apply);
          } else {
            engine.setFlaggedDevices(step.flag);
            flagged = step.flag;
          }
          const keys = new Set(flagged.map((d) => d.toLowerCase()));
          const readings = fed.flatMap((b) => b.readings ?? []);
          const kept = readings.filter((r) => r.source === undefined || !keys.has(r.source.toLowerCase()));
          const current = engine.current;
          const screened = engine.screened;
          const scratch = buildTwinModel(
            fed.flatMap((b) => b.records ?? []),
            kept,
            current.model.asOf === null ? options : { ...options, asOf: current.model.asOf },
          );
          expect(screened.model).to.deep.equal(scratch.model);
          expect({ ...screened.readings }).to.deep.equal({ ...scratch.readings });
          expect(screened.stateRoot).to.equal(current.stateRoot);
          const setAside = readings.length - kept.length;
          if (screened === current) {
            // nothing of this twin set aside (duplicates of one reading count once in the twin)
            expect(Object.values(current.readings).flat().length).to.equal(
              Object.values(scratch.readings).flat().length,
            );
          } else {
            const total = Object.values(current.readings).flat().length - Object.values(scratch.readings).flat().length;
            expect(screened.setAside!.flaggedDevice).to.equal(total);
            expect(total).to.be.greaterThan(0).and.at.most(setAside);
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
