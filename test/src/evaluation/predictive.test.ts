import { expect } from "chai";
import { generateCohort, ingestWearable } from "../../../src/fhir";
import { fhirTimeStart } from "../../../src/fhir/time";
import { measurePredictive, renderPredictive, withProdrome } from "../../../src/evaluation/predictive";
import { resolveConfig } from "../../../src/twin";

describe("evaluation: predictive care", function () {
  this.timeout(120_000);

  it("measures forecast against measured alerts on a tiny cohort: shape and sane values", () => {
    const result = measurePredictive({ seed: 3, patients: 3, days: 1, runs: 20, prodromeMinutes: 45 });
    expect(result.horizonHours).to.equal(6);
    expect(result.variants.map((v) => v.prodromeMinutes)).to.deep.equal([0, 45]);
    for (const v of result.variants) {
      // Patient 0 has no episode, patient 1 two, patient 2 one (cohort-plan.ts).
      expect(v.episodes).to.equal(3);
      expect(v.episodesAlerted).to.be.within(0, v.episodes);
      expect(v.episodesCaught).to.be.within(0, v.episodesAlerted);
      if (v.episodesAlerted > 0) expect(v.recall).to.be.within(0, 1);
      expect(v.forecastAlarmsConfirmed).to.be.within(0, v.forecastAlarms);
      if (v.forecastAlarms > 0) expect(v.precision).to.be.within(0, 1);
      expect(v.alarmsPerPatientDay).to.be.at.least(0);
      expect(v.leadMinutes.count).to.equal(v.episodesCaught);
      if (v.episodesCaught > 0) {
        expect(v.leadMinutes.p25).to.be.at.most(v.leadMinutes.median);
        expect(v.leadMinutes.median).to.be.at.most(v.leadMinutes.p75);
        expect(v.leadMinutes.p25).to.be.within(0, 6 * 60 + 60);
      }
      expect(v.measuredAlerts).to.be.at.least(v.episodesAlerted);
    }
    expect(result.timing.count).to.equal(20);
    expect(result.timing.p50).to.be.greaterThan(0).and.at.most(result.timing.p95);
    expect(result.timedReadings).to.be.greaterThan(100);
    const text = renderPredictive(result);
    expect(text).to.have.length(4);
    expect(text[1]).to.match(/^\| cohort \|/);
    expect(text[1].split("\n")).to.have.length(4);
    expect(text[1].split("\n").map((line) => line.split(" | ").length)).to.deep.equal([8, 8, 8, 8]);
    expect(text[3]).to.match(/p50 [\d.]+ ms, p95 [\d.]+ ms over 20 runs/);
  });

  it("the prodrome drifts the episode's sign to the rule's threshold before onset, never across it", () => {
    const cohort = generateCohort({ seed: 3, patients: 2, days: 1, intervalSeconds: 60 });
    const patient = cohort.patients[1];
    const readings = ingestWearable(patient.wearable).readings;
    const drifted = withProdrome(readings, patient.episodes, resolveConfig(), 60);
    expect(drifted).to.have.length(readings.length);
    for (const episode of patient.episodes) {
      const start = fhirTimeStart(episode.start);
      const before = drifted.filter((r) => r.sign === episode.sign && r.at >= start - 3_600_000 && r.at < start);
      expect(before.length).to.be.greaterThan(0);
      for (const r of before) {
        if (episode.kind === "tachycardia") expect(r.value).to.be.at.most(120);
        else expect(r.value).to.be.at.least(92);
      }
      const last = before[before.length - 1];
      if (episode.kind === "tachycardia") expect(last.value).to.be.greaterThan(110);
      else expect(last.value).to.be.at.most(93);
    }
    expect(withProdrome(readings, patient.episodes, resolveConfig(), 0)).to.deep.equal(readings);
  });
});
