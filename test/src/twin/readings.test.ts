import { expect } from "chai";
import { acceptedUnits, buildTwinModel, TwinEngine, TwinEngineError, vitalsSeries } from "../../../src/twin";
import type { VitalReading } from "../../../src/fhir/records";
import { DataCategory } from "../../../src/vocabulary";
import { MINUTE, reading, T0 } from "./builders";

function expectTwinError(fn: () => unknown, code: string): TwinEngineError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(TwinEngineError);
    expect((error as TwinEngineError).code).to.equal(code);
    return error as TwinEngineError;
  }
  throw new Error(`expected ${code}`);
}

describe("twin readings", () => {
  it("sorts readings that arrive out of order", () => {
    const version = buildTwinModel(
      [],
      [reading("heartRate", 72, T0 + 2 * MINUTE), reading("heartRate", 70, T0), reading("heartRate", 71, T0 + MINUTE)],
    );
    expect(version.readings.heartRate?.map((r) => r.at)).to.deep.equal([T0, T0 + MINUTE, T0 + 2 * MINUTE]);
    expect(version.model.vitals.heartRate?.latest).to.deep.equal({
      sign: "heartRate",
      value: 72,
      unit: "/min",
      at: T0 + 2 * MINUTE,
    });
  });

  it("ignores duplicates (same sign, time, value and source), keeps readings that differ in any of them", () => {
    const base = reading("heartRate", 70, T0, { source: "Device/watch" });
    const version = buildTwinModel(
      [],
      [
        base,
        { ...base },
        reading("heartRate", 70, T0, { source: "Device/watch", recordKey: "Observation/dup" }),
        reading("heartRate", 70, T0, { source: "Device/chest-strap" }),
        reading("heartRate", 71, T0, { source: "Device/watch" }),
        reading("heartRate", 70, T0 + 1, { source: "Device/watch" }),
        reading("oxygenSaturation", 70, T0, { source: "Device/watch" }),
      ],
    );
    expect(version.readings.heartRate).to.have.length(4);
    expect(version.readings.oxygenSaturation).to.have.length(1);
  });

  it("ignores duplicates across batches, and a late reading lands in its place", () => {
    const engine = new TwinEngine();
    engine.apply({ readings: [reading("heartRate", 70, T0), reading("heartRate", 90, T0 + 2 * MINUTE)] });
    const next = engine.apply({ readings: [reading("heartRate", 70, T0), reading("heartRate", 80, T0 + MINUTE)] });
    expect(next.readings.heartRate?.map((r) => r.value)).to.deep.equal([70, 80, 90]);
  });

  it("keeps which duplicate survives independent of order (the first in the total order)", () => {
    const a = reading("heartRate", 70, T0, { recordKey: "Observation/a", category: DataCategory.VITALS });
    const b = reading("heartRate", 70, T0, { recordKey: "Observation/b", category: DataCategory.WEARABLE_STREAMS });
    const ab = buildTwinModel([], [a, b]);
    const ba = buildTwinModel([], [b, a]);
    expect(ab.readings.heartRate).to.deep.equal([a]);
    expect(ba.stateRoot).to.equal(ab.stateRoot);
  });

  it("converts accepted units to the canonical unit", () => {
    const version = buildTwinModel(
      [],
      [
        reading("bodyTemperature", 98.6, T0, { unit: "[degF]" }),
        reading("glucose", 5.5, T0, { unit: "mmol/L" }),
        reading("bodyWeight", 176, T0, { unit: "[lb_av]" }),
        reading("bodyHeight", 1.8, T0, { unit: "m" }),
        reading("heartRate", 64, T0, { unit: "{beats}/min" }),
      ],
    );
    const latest = (sign: keyof typeof version.readings) => version.readings[sign]?.[0];
    expect(latest("bodyTemperature")).to.include({ value: 37, unit: "Cel" });
    expect(latest("glucose")).to.include({ value: 99.088, unit: "mg/dL" });
    expect(latest("bodyWeight")).to.include({ value: 79.832257, unit: "kg" });
    expect(latest("bodyHeight")).to.include({ value: 180, unit: "cm" });
    expect(latest("heartRate")).to.include({ value: 64, unit: "/min" });
    expect(acceptedUnits("glucose")).to.deep.equal(["mg/dL", "mmol/L", "g/L"]);
  });

  it("keeps ingest's category and record key, and filters a series by category mask", () => {
    const version = buildTwinModel(
      [],
      [
        reading("heartRate", 70, T0, { category: DataCategory.WEARABLE_STREAMS, recordKey: "Observation/w1" }),
        reading("heartRate", 72, T0 + MINUTE, { category: DataCategory.VITALS }),
        reading("heartRate", 74, T0 + 2 * MINUTE),
      ],
    );
    expect(version.readings.heartRate?.[0]).to.include({
      category: DataCategory.WEARABLE_STREAMS,
      recordKey: "Observation/w1",
    });
    const vitalsOnly = vitalsSeries(version, { sign: "heartRate", categories: DataCategory.VITALS });
    expect(vitalsOnly.points.map((p) => p.value)).to.deep.equal([72, 74]);
    const wearableOnly = vitalsSeries(version, { sign: "heartRate", categories: DataCategory.WEARABLE_STREAMS });
    expect(wearableOnly.points.map((p) => p.value)).to.deep.equal([70]);
  });

  it("does not mutate or keep the caller's objects", () => {
    const input = reading("heartRate", 70, T0, { source: "Device/watch" });
    const version = buildTwinModel([], [input]);
    expect(version.readings.heartRate?.[0]).to.not.equal(input);
    expect(Object.isFrozen(input)).to.equal(false);
    expect(Object.isFrozen(version.readings.heartRate?.[0])).to.equal(true);
  });

  describe("rejects invalid readings without echoing the value", () => {
    const bad: [string, VitalReading, string][] = [
      ["an unknown sign", { ...reading("heartRate", 70, T0), sign: "mood" as never }, "TWIN_INVALID_READING"],
      ["a non-finite value", reading("heartRate", Number.NaN, T0), "TWIN_INVALID_READING"],
      ["a fractional time", reading("heartRate", 70, T0 + 0.5), "TWIN_INVALID_READING"],
      ["a negative time", reading("heartRate", 70, -1), "TWIN_INVALID_READING"],
      ["an unknown unit", reading("glucose", 123.456, T0, { unit: "mmol/mol" }), "TWIN_UNSUPPORTED_UNIT"],
      [
        "a category that is not one bit",
        reading("heartRate", 70, T0, { category: 3 as never }),
        "TWIN_INVALID_READING",
      ],
    ];
    for (const [what, input, code] of bad) {
      it(what, () => {
        const error = expectTwinError(() => buildTwinModel([], [reading("heartRate", 60, T0), input]), code);
        expect(error.message).to.match(/^reading 1\b/);
        expect(error.message).to.not.include("123.456");
      });
    }

    it("a failed apply leaves the engine as it was", () => {
      const engine = new TwinEngine();
      const first = engine.apply({ readings: [reading("heartRate", 70, T0)] });
      expectTwinError(
        () => engine.apply({ readings: [reading("heartRate", 71, T0 + 1), reading("heartRate", Infinity, T0)] }),
        "TWIN_INVALID_READING",
      );
      expect(engine.current).to.equal(first);
      expect(engine.apply({}).readings.heartRate).to.have.length(1);
    });
  });
});
