import { expect } from "chai";
import {
  alerts,
  allergies,
  buildTwinModel,
  latestVitals,
  summary,
  TwinEngineError,
  vitalsSeries,
} from "../../../src/twin";
import { allergy, condition, DAY, HOUR, medication, MINUTE, reading, series, T0 } from "./builders";

describe("twin views", () => {
  const version = buildTwinModel(
    [
      condition("htn", { display: "Hypertension", status: "active", onset: "2019-04-02" }),
      condition("flu", { display: "Influenza", status: "resolved", onset: "2025-12-20" }),
      medication("lisinopril", { display: "Lisinopril", status: "active" }),
      medication("amoxicillin", { display: "Amoxicillin", status: "completed" }),
      allergy("penicillin", { display: "Penicillin", status: "active" }),
      allergy("latex", { display: "Latex", status: "inactive" }),
    ],
    [
      // Heart rate: 60 … 64 at T0 … T0 + 4 min, then 70 and 80 at T0 + 1 h 30 s and T0 + 1 h 59 min.
      ...series("heartRate", T0, MINUTE, [60, 61, 62, 63, 64]),
      reading("heartRate", 70, T0 + HOUR + 30_000),
      reading("heartRate", 80, T0 + HOUR + 59 * MINUTE),
      reading("heartRate", 90, T0 + DAY + HOUR),
      // SpO2: an open episode below 92 %, and a resolved one.
      ...series("oxygenSaturation", T0, HOUR, [90, 97, 89, 88]),
      reading("systolic", 185, T0 + 2 * HOUR),
      reading("systolic", 130, T0 + 3 * HOUR),
    ],
  );

  it("summary: active problems, active medications and allergies, latest vitals, open alert count", () => {
    const view = summary(version);
    expect(view.version).to.equal(1);
    expect(view.stateRoot).to.equal(version.stateRoot);
    expect(view.problems.map((p) => p.display)).to.deep.equal(["Hypertension"]);
    expect(view.activeMedications.map((m) => m.display)).to.deep.equal(["Lisinopril"]);
    expect(view.allergies.map((a) => a.display)).to.deep.equal(["Penicillin"]);
    expect(view.latestVitals.heartRate).to.include({ value: 90, at: T0 + DAY + HOUR });
    expect(view.openAlerts).to.equal(1); // SpO2 still low; the first SpO2 and the systolic episodes resolved
    // Undated entries are ordered by key.
    expect(allergies(version).map((a) => a.display)).to.deep.equal(["Latex", "Penicillin"]);
  });

  it("latest vitals per sign", () => {
    expect(latestVitals(version)).to.deep.equal({
      heartRate: { sign: "heartRate", value: 90, unit: "/min", at: T0 + DAY + HOUR },
      oxygenSaturation: { sign: "oxygenSaturation", value: 88, unit: "%", at: T0 + 3 * HOUR },
      systolic: { sign: "systolic", value: 130, unit: "mm[Hg]", at: T0 + 3 * HOUR },
    });
  });

  it("raw series over an inclusive window", () => {
    const raw = vitalsSeries(version, { sign: "heartRate", from: T0 + MINUTE, to: T0 + 4 * MINUTE });
    expect(raw).to.include({ sign: "heartRate", unit: "/min", aggregation: "raw", from: T0 + MINUTE });
    expect(raw.points.map((p) => p.value)).to.deep.equal([61, 62, 63, 64]);
    expect(vitalsSeries(version, { sign: "glucose" }).points).to.deep.equal([]);
    expect(vitalsSeries(version, { sign: "heartRate" }).points).to.have.length(8);
  });

  it("bucketed by minute, hour and day (UTC-aligned, hand-computed)", () => {
    const byHour = vitalsSeries(version, { sign: "heartRate", aggregation: "hour" });
    expect(byHour.buckets).to.deep.equal([
      { start: T0, end: T0 + HOUR, count: 5, min: 60, max: 64, mean: 62 },
      { start: T0 + HOUR, end: T0 + 2 * HOUR, count: 2, min: 70, max: 80, mean: 75 },
      { start: T0 + DAY + HOUR, end: T0 + DAY + 2 * HOUR, count: 1, min: 90, max: 90, mean: 90 },
    ]);
    const dayStart = Date.UTC(2026, 0, 5);
    const byDay = vitalsSeries(version, { sign: "heartRate", aggregation: "day", to: T0 + DAY });
    expect(byDay.buckets).to.deep.equal([
      { start: dayStart, end: dayStart + DAY, count: 7, min: 60, max: 80, mean: 460 / 7 },
    ]);
    const byMinute = vitalsSeries(version, { sign: "heartRate", aggregation: "minute", from: T0 + HOUR });
    expect(byMinute.buckets.map((b) => [b.start, b.count])).to.deep.equal([
      [T0 + HOUR, 1],
      [T0 + HOUR + 59 * MINUTE, 1],
      [T0 + DAY + HOUR, 1],
    ]);
  });

  it("alerts filtered by status, sign, kind, severity and time", () => {
    // By start, then rule: the second SpO2 episode and the systolic one both start at T0 + 2 h.
    expect(alerts(version).map((a) => [a.rule, a.startAt])).to.deep.equal([
      ["spo2-low", T0],
      ["spo2-low", T0 + 2 * HOUR],
      ["systolic-high", T0 + 2 * HOUR],
    ]);
    expect(alerts(version, { status: "open" }).map((a) => a.startAt)).to.deep.equal([T0 + 2 * HOUR]);
    expect(alerts(version, { sign: "systolic" })[0]).to.include({ severity: "critical", endAt: T0 + 3 * HOUR });
    expect(alerts(version, { severity: "critical" })).to.have.length(1);
    expect(alerts(version, { kind: "baseline" })).to.deep.equal([]);
    expect(alerts(version, { from: T0 + 90 * MINUTE, to: T0 + 100 * MINUTE }).map((a) => a.rule)).to.deep.equal([]);
    expect(alerts(version, { from: T0 + 2 * HOUR + 1 }).map((a) => a.rule)).to.deep.equal([
      "spo2-low",
      "systolic-high",
    ]);
  });

  it("rejects a malformed query", () => {
    expect(() => vitalsSeries(version, { sign: "mood" as never })).to.throw(TwinEngineError, /unknown vital sign/);
    expect(() => vitalsSeries(version, { sign: "heartRate", from: T0 + 1, to: T0 })).to.throw(TwinEngineError);
    expect(() => vitalsSeries(version, { sign: "heartRate", aggregation: "week" as never })).to.throw(TwinEngineError);
  });

  it("an empty twin has empty views", () => {
    const empty = buildTwinModel([], []);
    expect(summary(empty)).to.deep.include({
      asOf: null,
      problems: [],
      activeMedications: [],
      allergies: [],
      latestVitals: {},
      openAlerts: 0,
    });
  });
});
