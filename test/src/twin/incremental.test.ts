import { expect } from "chai";
import fc from "fast-check";
import type { TwinRecord, VitalReading, VitalSignName } from "../../../src/fhir/records";
import { buildTwinModel, TwinEngine, type TwinBatch, type TwinVersion } from "../../../src/twin";
import {
  HOUR,
  MINUTE,
  T0,
  condition,
  encounter,
  lab,
  medication,
  reading,
  sourceHash,
  vitalObservation,
} from "./builders";

/**
 * Issue 12: the engine applies batches incrementally (only what a batch touches is made again),
 * and every version equals the from-scratch build over the union of the batches so far.
 */

const SIGNS: readonly [VitalSignName, number, number][] = [
  // sign, typical value, swing (wide enough to cross the default thresholds and baselines)
  ["heartRate", 80, 60],
  ["oxygenSaturation", 94, 6],
  ["systolic", 150, 45],
  ["bodyTemperature", 37.5, 1.5],
];

const readingArb: fc.Arbitrary<VitalReading> = fc
  .record({
    sign: fc.integer({ min: 0, max: SIGNS.length - 1 }),
    minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
    offset: fc.double({ min: -1, max: 1, noNaN: true }),
    source: fc.constantFrom(undefined, "Device/a", "Device/b"),
  })
  .map(({ sign, minute, offset, source }) => {
    const [name, mean, swing] = SIGNS[sign];
    return reading(name, Math.round((mean + offset * swing) * 10) / 10, T0 + minute * MINUTE, { source });
  });

/** A run of readings forward in time (what a device streams), mostly after what came before. */
const streamArb: fc.Arbitrary<VitalReading[]> = fc
  .record({ sign: fc.integer({ min: 0, max: SIGNS.length - 1 }), start: fc.integer({ min: 0, max: 4 * 24 * 60 }) })
  .chain(({ sign, start }) =>
    fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }).map((offsets) => {
      const [name, mean, swing] = SIGNS[sign];
      return offsets.map((o, i) => reading(name, Math.round((mean + o * swing) * 10) / 10, T0 + (start + i) * MINUTE));
    }),
  );

const recordArb: fc.Arbitrary<TwinRecord> = fc.oneof(
  fc
    .record({
      id: fc.constantFrom("htn", "dm", "copd"),
      status: fc.constantFrom("active", "resolved", undefined),
      v: fc.integer({ min: 1, max: 4 }),
    })
    .map(({ id, status, v }) =>
      condition(id, { status, onset: "2020-01-0" + v, lastUpdated: `2026-01-0${v}T00:00:00Z`, display: id }),
    ),
  fc.constantFrom("lisinopril", "metformin").map((id) => medication(id, { since: "2021-02-03" })),
  fc.constantFrom("e1", "e2").map((id) => encounter(id, "2024-05-06T10:00:00Z")),
  fc.constantFrom("l1", "l2").map((id) => lab(id)),
);

const batchArb: fc.Arbitrary<TwinBatch> = fc.record({
  records: fc.array(recordArb, { maxLength: 3 }),
  readings: fc.oneof(fc.array(readingArb, { maxLength: 30 }), streamArb),
  sourceHashes: fc.array(
    fc.integer({ min: 0, max: 9 }).map((i) => sourceHash(`s${i}`)),
    { maxLength: 2 },
  ),
});

function expectSame(incremental: TwinVersion, scratch: TwinVersion): void {
  expect(incremental.stateRoot).to.equal(scratch.stateRoot);
  expect(incremental.sourcesRoot).to.equal(scratch.sourcesRoot);
  expect(incremental.model).to.deep.equal(scratch.model);
  expect(incremental.records).to.deep.equal(scratch.records);
  expect({ ...incremental.readings }).to.deep.equal({ ...scratch.readings });
  expect(incremental.sourceHashes).to.deep.equal(scratch.sourceHashes);
}

describe("TwinEngine: incremental", () => {
  it("property: after every apply, the version equals a from-scratch build over the union of batches", () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 8 }), (batches) => {
        const engine = new TwinEngine({ baseline: { minSamples: 5, minSpanMs: HOUR, windowMs: 6 * HOUR } });
        const records: TwinRecord[] = [];
        const readings: VitalReading[] = [];
        const hashes: string[] = [];
        batches.forEach((batch, i) => {
          const version = engine.apply(batch);
          records.push(...(batch.records ?? []));
          readings.push(...(batch.readings ?? []));
          hashes.push(...(batch.sourceHashes ?? []));
          const scratch = buildTwinModel(records, readings, {
            sourceHashes: hashes,
            version: i + 1,
            baseline: { minSamples: 5, minSpanMs: HOUR, windowMs: 6 * HOUR },
          });
          expectSame(version, scratch);
        });
      }),
      { numRuns: 30 },
    );
  });

  it("earlier versions are not changed by later applies (their arrays are made from what they held)", () => {
    const engine = new TwinEngine();
    const first = engine.apply({ readings: [reading("heartRate", 70, T0)], records: [condition("a")] });
    engine.apply({ readings: [reading("heartRate", 71, T0 + MINUTE)], records: [condition("b")] });
    engine.apply({ readings: [reading("heartRate", 69, T0 - MINUTE)] }); // out of order: a rebuild
    expect(first.readings.heartRate!.map((r) => r.value)).to.deep.equal([70]);
    expect(first.records.map((r) => r.key)).to.deep.equal(["Condition/a"]);
    expect(engine.current.readings.heartRate!.map((r) => r.value)).to.deep.equal([69, 70, 71]);
  });

  it("a resumed engine goes on as the one it resumes, and tells the effective record of a key in O(1)", () => {
    const batches: TwinBatch[] = [
      { records: [condition("a", { status: "active" })], readings: [reading("heartRate", 130, T0)] },
      { readings: [reading("heartRate", 131, T0 + 6 * MINUTE), reading("heartRate", 132, T0 + 11 * MINUTE)] },
      { records: [condition("a", { status: "resolved", lastUpdated: "2026-02-01T00:00:00Z" })] },
    ];
    const original = new TwinEngine();
    original.apply(batches[0]);
    const resumed = new TwinEngine({}, original.current);
    for (const batch of batches.slice(1)) expectSame(resumed.apply(batch), original.apply(batch));
    expect(resumed.effectiveRecord("Condition/a")?.status).to.equal("resolved");
    expect(resumed.effectiveRecord("Condition/b")).to.equal(undefined);
  });

  it("a failed apply leaves the engine as it was", () => {
    const engine = new TwinEngine();
    const before = engine.apply({ readings: [reading("heartRate", 70, T0)] });
    const bad = { readings: [reading("heartRate", 71, T0 + MINUTE), { ...reading("heartRate", 1, T0), unit: "kg" }] };
    expect(() => engine.apply(bad)).to.throw();
    expect(() => engine.apply({ records: [condition("x"), { key: "" } as unknown as TwinRecord] })).to.throw();
    expect(engine.current).to.equal(before);
    const next = engine.apply({ readings: [reading("heartRate", 72, T0 + 2 * MINUTE)] });
    expectSame(
      next,
      buildTwinModel([], [reading("heartRate", 70, T0), reading("heartRate", 72, T0 + 2 * MINUTE)], { version: 2 }),
    );
  });

  it("the cost of one new reading does not grow with history (work counted, 1k vs 50k readings)", () => {
    /** A twin with `n` hourly readings of two signs, each with its Observation record, then one more. */
    const costOfOneMore = (n: number) => {
      const engine = new TwinEngine();
      const history = Array.from({ length: n }, (_, i) => {
        const sign = i % 2 === 0 ? "heartRate" : "oxygenSaturation";
        return vitalObservation(
          reading(sign, sign === "heartRate" ? 70 + (i % 7) : 96 + (i % 3), T0 + i * HOUR),
          `h${i}`,
        );
      });
      for (let i = 0; i < n; i += 1000) {
        const chunk = history.slice(i, i + 1000);
        engine.apply({ records: chunk.map((o) => o.record), readings: chunk.map((o) => o.reading) });
      }
      const works: number[] = [];
      const times: number[] = [];
      for (let k = 0; k < 200; k++) {
        const next = vitalObservation(reading("heartRate", 72, T0 + (n + k) * HOUR), `n${k}`);
        const started = performance.now();
        engine.apply({ records: [next.record], readings: [next.reading] });
        times.push(performance.now() - started);
        works.push(engine.lastApplyWork);
      }
      times.sort((a, b) => a - b);
      return { work: Math.max(...works.slice(10)), medianMs: times[100] };
    };
    const small = costOfOneMore(1_000);
    const large = costOfOneMore(50_000);
    console.log(
      `      one more reading: ${small.work} readings/records visited and ${(small.medianMs * 1000).toFixed(0)} µs ` +
        `(median) with 1k history; ${large.work} and ${(large.medianMs * 1000).toFixed(0)} µs with 50k`,
    );
    // The work is the same (windows and open episodes, not history); the time figure is printed only.
    expect(large.work).to.equal(small.work);
    expect(large.work).to.be.lessThan(1_000);
  });
});
