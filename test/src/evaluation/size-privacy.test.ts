import { expect } from "chai";
import { judgeFhirAtSize } from "../../../src/evaluation/targets";
import { mergeLoads } from "../../../src/evaluation/gateway";
import { measurePaddingCost } from "../../../src/evaluation/padding-cost";
import { batchPlaintextBytes, DEFAULT_BATCH_POLICY } from "../../../src/pipeline";
import type { FhirAtSize, FhirPipelineRun } from "../../../src/evaluation/types";

const run = (overrides: Partial<FhirPipelineRun> = {}): FhirPipelineRun => ({
  records: 20_001,
  readings: 20_000,
  inputBytes: 11_000_000,
  seconds: 8,
  cpuSeconds: 9,
  peakRssMb: 280,
  rssBeforeMb: 250,
  anchorGas: 79_000,
  ...overrides,
});

const atSize = (pipeline: FhirPipelineRun | null, judged = true): FhirAtSize => ({
  measured: pipeline !== null,
  reason: pipeline === null ? "the child failed" : "",
  observations: judged ? 20_000 : 2_000,
  judged,
  ingest: run({ anchorGas: null, seconds: 0.9 }),
  pipeline,
});

describe("evaluation: FHIR at size, padding, rate limits", () => {
  it("judges the FHIR size target on time and RSS, and not in quick mode", () => {
    expect(judgeFhirAtSize(atSize(run())).verdict).to.equal("met");
    expect(judgeFhirAtSize(atSize(run({ seconds: 10.5 }))).verdict).to.equal("missed");
    expect(judgeFhirAtSize(atSize(run({ peakRssMb: 301 }))).verdict).to.equal("missed");
    expect(judgeFhirAtSize(atSize(run({ records: 100 }))).verdict).to.equal("missed");
    const quick = judgeFhirAtSize(atSize(run({ seconds: 99 }), false));
    expect(quick.verdict).to.equal("quick mode: not judged");
    expect(quick.measured).to.include("2,000 Observations").and.include("99.0 s wall");
    const none = judgeFhirAtSize(atSize(null));
    expect(none.verdict).to.equal("not measured");
    expect(none.measured).to.include("the child failed");
  });

  it("counts padding's bytes over the cohort: records in Padmé buckets, batches at the policy's fixed size", () => {
    const cost = measurePaddingCost({ seed: 7, patients: 1, days: 1, intervalSeconds: 3600 });
    const { records, batchesPerStreamDay: batches } = cost;
    expect(records.blobs).to.be.greaterThan(0);
    expect(records.paddedBytes).to.be.at.least(records.plainBytes + records.blobs); // the 0x80 marker at least
    expect(records.paddedBytes).to.be.at.least(512 * records.blobs);
    expect(records.ratio).to.equal(records.paddedBytes / records.plainBytes);
    const fixed = batchPlaintextBytes(DEFAULT_BATCH_POLICY)!;
    // One stream-day, hourly readings: one batch per hour with readings, each exactly the fixed size.
    expect(batches.blobs).to.be.within(1, 24);
    expect(batches.paddedBytes).to.equal(batches.blobs * fixed);
    expect(batches.plainBytes).to.be.lessThan(batches.paddedBytes);
    expect(cost.batchPolicy).to.include(String(fixed)).and.include("1 stream-day");
  });

  it("merges the rounds of a load: times pooled, counts and seconds summed", () => {
    const a = { e2e: [1, 2], http: [1, 2], allowed: 2, denied: 0, errors: 0, verified: 2, seconds: 1 };
    const b = { e2e: [3], http: [3], allowed: 1, denied: 1, errors: 1, verified: 1, seconds: 2 };
    expect(mergeLoads([a, b])).to.deep.equal({
      e2e: [1, 2, 3],
      http: [1, 2, 3],
      allowed: 3,
      denied: 1,
      errors: 1,
      verified: 3,
      seconds: 3,
    });
    expect(() => mergeLoads([])).to.throw("no load");
  });
});
