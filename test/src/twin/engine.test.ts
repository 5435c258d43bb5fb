import { expect } from "chai";
import {
  alerts,
  buildTwinModel,
  EMPTY_SOURCES_ROOT,
  TwinEngine,
  TwinEngineError,
  type TwinVersion,
} from "../../../src/twin";
import { condition, medication, MINUTE, reading, repeat, series, sourceHash, T0 } from "./builders";

describe("TwinEngine", () => {
  const batch1 = {
    records: [condition("htn", { status: "active", onset: "2019-04-02" })],
    readings: series("heartRate", T0, MINUTE, [70, 72, 74]),
    sourceHashes: [sourceHash("emr-1"), sourceHash("watch-1")],
  };
  const batch2 = {
    records: [medication("lisinopril", { since: "2019-04-03" })],
    readings: series("oxygenSaturation", T0, MINUTE, [97, 96, 91]),
    sourceHashes: [sourceHash("emr-2")],
  };

  it("starts empty at version 0", () => {
    const engine = new TwinEngine();
    expect(engine.version).to.equal(0);
    expect(engine.current.model).to.deep.include({ asOf: null, problems: [], alerts: [] });
    expect(engine.current.sourcesRoot).to.equal(EMPTY_SOURCES_ROOT);
    expect(engine.current.stateRoot).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("increments the version on every apply and returns immutable versions", () => {
    const engine = new TwinEngine();
    const v1 = engine.apply(batch1);
    const v2 = engine.apply(batch2);
    expect([v1.version, v2.version, engine.version]).to.deep.equal([1, 2, 2]);
    expect(v1.model.problems).to.have.length(1);
    expect(v1.model.medications).to.have.length(0); // v1 is unchanged by the later apply
    expect(v2.model.medications).to.have.length(1);
    expect(v2.stateRoot).to.not.equal(v1.stateRoot);
    expect(v2.sourcesRoot).to.not.equal(v1.sourcesRoot);
    expect(v2.sourceHashes).to.have.length(3);
    for (const frozen of [v2, v2.model, v2.model.problems, v2.model.alerts[0], v2.readings, v2.readings.heartRate]) {
      expect(Object.isFrozen(frozen)).to.equal(true);
    }
    expect(() => {
      (v2.model.problems as unknown as unknown[]).push(null);
    }).to.throw(TypeError);
  });

  it("gives the same roots as a one-shot build over the union of batches", () => {
    const engine = new TwinEngine();
    engine.apply(batch1);
    const incremental = engine.apply(batch2);
    const oneShot = buildTwinModel([...batch2.records, ...batch1.records], [...batch2.readings, ...batch1.readings], {
      sourceHashes: [...batch2.sourceHashes, ...batch1.sourceHashes],
      version: 2,
    });
    expect(incremental.stateRoot).to.equal(oneShot.stateRoot);
    expect(incremental.sourcesRoot).to.equal(oneShot.sourcesRoot);
    expect(incremental.model).to.deep.equal(oneShot.model);
  });

  it("re-applying a batch bumps the version but keeps the roots", () => {
    const engine = new TwinEngine();
    const v1 = engine.apply(batch1);
    const v2 = engine.apply(batch1);
    expect(v2.version).to.equal(2);
    expect(v2.stateRoot).to.equal(v1.stateRoot);
    expect(v2.sourcesRoot).to.equal(v1.sourcesRoot);
  });

  it("a late batch can complete a sustained episode that started earlier", () => {
    const engine = new TwinEngine();
    const minutes = series("heartRate", T0, MINUTE, repeat(130, 11)); // minutes 0 … 10
    const filled = (i: number) => i >= 4 && i <= 8;
    // Minutes 0–3 and 9–10: a 6-minute gap restarts the clock, so no alert yet.
    const early = engine.apply({ readings: minutes.filter((_, i) => !filled(i)) });
    expect(alerts(early, { kind: "threshold" })).to.deep.equal([]);
    // Minutes 4–8 arrive late and fill the gap: 10 minutes sustained from T0.
    const late = engine.apply({ readings: minutes.filter((_, i) => filled(i)) });
    expect(alerts(late, { kind: "threshold" }).map((a) => [a.startAt, a.triggeredAt])).to.deep.equal([
      [T0, T0 + 10 * MINUTE],
    ]);
  });

  it("resumes from a stored version", () => {
    const engine = new TwinEngine();
    const v1 = engine.apply(batch1);
    const resumed = new TwinEngine({}, v1);
    expect(resumed.version).to.equal(1);
    const v2 = resumed.apply(batch2);
    engine.apply(batch2);
    expect(v2.version).to.equal(2);
    expect(v2.stateRoot).to.equal(engine.current.stateRoot);
  });

  it("commits to its options: other thresholds give another state root", () => {
    const readings = [reading("heartRate", 70, T0)];
    const a: TwinVersion = new TwinEngine().apply({ readings });
    const b = new TwinEngine({ baseline: { zThreshold: 4 } }).apply({ readings });
    expect(a.model).to.deep.equal(b.model);
    expect(a.stateRoot).to.not.equal(b.stateRoot);
  });

  it("rejects malformed options", () => {
    expect(() => new TwinEngine({ windows: [{ label: "1h", durationMs: 0 }] })).to.throw(TwinEngineError, /durationMs/);
    expect(
      () =>
        new TwinEngine({
          thresholdRules: [
            { id: "x", sign: "heartRate", comparison: "<", threshold: 40, sustainMs: 0, severity: "high" },
            { id: "x", sign: "heartRate", comparison: ">", threshold: 150, sustainMs: 0, severity: "high" },
          ],
        }),
    ).to.throw(TwinEngineError, /unique/);
    expect(() => new TwinEngine({ baseline: { minSamples: 1 } })).to.throw(TwinEngineError, /minSamples/);
  });
});
