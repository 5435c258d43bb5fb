import { expect } from "chai";
import { buildRecordTree, recordsAnchorOf } from "../../../src/chain/anchors";
import { BUNDLE_RECORDS, syntheticRecords } from "../../../src/evaluation/gas";
import { calldataGas } from "../../../src/evaluation/meter";
import { bundlePoint, change } from "../../../src/evaluation/report";
import { planFor } from "../../../src/evaluation/run";
import { batchSeries, flatness, granteeAddress } from "../../../src/evaluation/scaling";
import { spread } from "../../../src/evaluation/storage";

describe("evaluation parts (pure helpers)", () => {
  it("prices calldata per EIP-2028: 4 gas a zero byte, 16 otherwise", () => {
    expect(calldataGas("0x")).to.equal(0);
    expect(calldataGas("0x0001ff00")).to.equal(4 + 16 + 16 + 4);
  });

  it("spreads a sample evenly over a list, first and last included", () => {
    expect(spread(10, 3)).to.deep.equal([0, 5, 9]);
    expect(spread(3, 5)).to.deep.equal([0, 1, 2]);
    expect(spread(100, 1)).to.deep.equal([0]);
  });

  it("gives distinct, valid grantee addresses", () => {
    const a = granteeAddress(0);
    expect(a).to.match(/^0x[0-9a-f]{40}$/);
    expect(new Set([0, 1, 9999].map(granteeAddress)).size).to.equal(3);
  });

  it("says whether gas stays flat within 2 % over the points", () => {
    const point = (n: number, writeGas: number, viewGas: number) => ({ n, writeGas, viewGas, viewMs: 1, writeMs: 1 });
    expect(flatness([point(1, 76_842, 12_979), point(10_000, 76_830, 12_979)])).to.equal(
      "From 1 to 10000: the write stays flat (76,830 to 76,842 gas); the view stays flat (12,979 to 12,979 gas).",
    );
    expect(flatness([point(1, 50_000, 5_000), point(100, 50_000, 9_000)])).to.include("the view varies");
    expect(flatness([point(1, 1, 1)])).to.equal("one point only");
  });

  it("turns the batch curve into the readings-per-batch series", () => {
    const series = batchSeries([
      {
        batchSize: 1,
        anchorGas: 56_403,
        gasPerReading: 56_403,
        proofLength: 0,
        verifyGas: 5_786,
        treeBuildMs: 0.5,
        anchorMs: 3,
      },
      {
        batchSize: 1000,
        anchorGas: 56_415,
        gasPerReading: 56.4,
        proofLength: 10,
        verifyGas: 10_746,
        treeBuildMs: 500,
        anchorMs: 3,
      },
    ]);
    expect(series.id).to.equal("readings-per-batch");
    expect(series.points.map((p) => p.writeGas)).to.deep.equal([56_403, 56_415]);
    expect(series.points[1].offChainMs).to.equal(500);
    expect(series.finding).to.include("0 → 10 hashes");
  });

  it("keeps quick mode smaller than the full run on every count", () => {
    const quick = planFor("quick");
    const full = planFor("full");
    expect(quick.paperRequests).to.equal(20);
    expect(quick.paperBlockSeconds).to.equal(2);
    expect(full.paperRequests).to.equal(200);
    expect(full.paperBlockSeconds).to.equal(12);
    expect(quick.scalingSteps[quick.scalingSteps.length - 1]).to.be.lessThan(
      full.scalingSteps[full.scalingSteps.length - 1],
    );
    expect(full.batchSizes[full.batchSizes.length - 1]).to.equal(10_000);
    // Both modes measure the 22-record EMR bundle and a 1,000-record one.
    for (const plan of [quick, full]) {
      expect(plan.recordBatchSizes).to.include(BUNDLE_RECORDS).and.to.include(1000);
    }
    expect(quick.recordBatchSizes.length).to.be.lessThan(full.recordBatchSizes.length);
  });

  it("makes distinct one-category records for a bundle, whose tree anchors their categories", () => {
    const records = syntheticRecords("test", BUNDLE_RECORDS);
    expect(records).to.have.length(22);
    expect(new Set(records.map((r) => r.contentHash)).size).to.equal(22);
    for (const r of records) expect(Number(r.category) & (Number(r.category) - 1)).to.equal(0);
    const anchor = recordsAnchorOf(buildRecordTree(records));
    expect(anchor.categories).to.equal(records.reduce((a, r) => a | Number(r.category), 0));
    expect(syntheticRecords("test", 3)[2]).to.deep.equal(records[2]);
  });

  it("marks v1 → v2 changes in percent, and a function without a v1 figure as new", () => {
    expect(change(100, 110)).to.equal("+10.0 %");
    expect(change(200, 150)).to.equal("−25.0 %");
    expect(change(undefined, 60_000)).to.equal("new");
    expect(bundlePoint([], 22)).to.equal(undefined);
  });
});
