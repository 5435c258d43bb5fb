import { expect } from "chai";
import type { VitalReading, VitalSignName } from "../../../src/fhir/records";
import { buildTwinModel, summary, TwinEngine } from "../../../src/twin";
import { HOUR, MINUTE, reading, sourceHash, T0, vitalObservation } from "./builders";

/** A day at one reading per minute for five signs (7,200 readings), shuffled deterministically. */
function dayOfReadings(): VitalReading[] {
  const signs: [VitalSignName, number, number][] = [
    ["heartRate", 75, 12],
    ["oxygenSaturation", 96, 2],
    ["systolic", 125, 10],
    ["diastolic", 80, 6],
    ["respiratoryRate", 15, 3],
  ];
  const readings = signs.flatMap(([sign, mean, swing]) =>
    Array.from({ length: 24 * 60 }, (_, i) =>
      reading(sign, Math.round((mean + swing * Math.sin(i / 45) + ((i * 7) % 5) - 2) * 10) / 10, T0 + i * MINUTE, {
        source: "Device/watch",
      }),
    ),
  );
  let seed = 42;
  for (let i = readings.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [readings[i], readings[j]] = [readings[j], readings[i]];
  }
  return readings;
}

describe("twin performance", () => {
  const readings = dayOfReadings();
  const hashes = Array.from({ length: 24 }, (_, i) => sourceHash(`watch-batch-${i}`));

  it("builds a day of minute readings for five signs well under a second", () => {
    buildTwinModel([], readings.slice(0, 500)); // warm up the JIT
    const started = performance.now();
    const version = buildTwinModel([], readings, { sourceHashes: hashes });
    const elapsed = performance.now() - started;
    expect(version.readings.heartRate).to.have.length(24 * 60);
    expect(summary(version).latestVitals.systolic?.at).to.equal(T0 + (24 * 60 - 1) * MINUTE);
    expect(elapsed).to.be.lessThan(1000);
  });

  it("applies the last hourly batch of the day well under a second", () => {
    const engine = new TwinEngine();
    const byHour = new Map<number, VitalReading[]>();
    for (const r of readings) {
      const hour = Math.floor((r.at - T0) / HOUR);
      byHour.set(hour, [...(byHour.get(hour) ?? []), r]);
    }
    for (let hour = 0; hour < 23; hour++) engine.apply({ readings: byHour.get(hour), sourceHashes: [hashes[hour]] });
    const started = performance.now();
    const last = engine.apply({ readings: byHour.get(23), sourceHashes: [hashes[23]] });
    const elapsed = performance.now() - started;
    expect(last.version).to.equal(24);
    expect(last.stateRoot).to.equal(buildTwinModel([], readings, { sourceHashes: hashes, version: 24 }).stateRoot);
    expect(elapsed).to.be.lessThan(1000);
  });

  it("builds the same day with one Observation record per reading (as ingest makes them) well under a second", () => {
    const observed = readings.map((r, i) => vitalObservation(r, `w${i}`));
    const records = observed.map((o) => o.record);
    const tagged = observed.map((o) => o.reading);
    buildTwinModel(records.slice(0, 500), tagged.slice(0, 500)); // warm up
    const started = performance.now();
    const version = buildTwinModel(records, tagged, { sourceHashes: hashes });
    const elapsed = performance.now() - started;
    expect(version.records).to.have.length(readings.length);
    expect(version.model.recordCounts.vital).to.equal(readings.length);
    expect(elapsed).to.be.lessThan(1000);
  });
});
