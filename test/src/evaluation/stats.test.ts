import { expect } from "chai";
import fc from "fast-check";
import { linearFit, logSteps, percentile, summarize, timeSync } from "../../../src/evaluation/stats";

describe("evaluation/stats", () => {
  describe("percentile", () => {
    it("interpolates linearly between ranks (NumPy 'linear')", () => {
      const xs = [1, 2, 3, 4];
      expect(percentile(xs, 0)).to.equal(1);
      expect(percentile(xs, 100)).to.equal(4);
      expect(percentile(xs, 50)).to.equal(2.5);
      expect(percentile(xs, 25)).to.be.closeTo(1.75, 1e-12);
      expect(percentile([10], 95)).to.equal(10);
    });

    it("does not depend on the order of the samples and does not sort them in place", () => {
      const xs = [5, 1, 4, 2, 3];
      expect(percentile(xs, 50)).to.equal(3);
      expect(xs).to.deep.equal([5, 1, 4, 2, 3]);
    });

    it("is NaN for no samples and refuses a percentile outside [0, 100]", () => {
      expect(percentile([], 50)).to.be.NaN;
      expect(() => percentile([1], 101)).to.throw(RangeError);
      expect(() => percentile([1], -1)).to.throw(RangeError);
      expect(() => percentile([1], Number.NaN)).to.throw(RangeError);
    });

    it("lies within [min, max] and grows with p", () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
          fc.integer({ min: 0, max: 99 }),
          (xs, p) => {
            const a = percentile(xs, p);
            const b = percentile(xs, p + 1);
            return a >= Math.min(...xs) && b <= Math.max(...xs) && a <= b + 1e-9;
          },
        ),
      );
    });
  });

  describe("summarize", () => {
    it("gives count, mean, min, max, percentiles and the sample standard deviation", () => {
      const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
      expect(s.count).to.equal(8);
      expect(s.mean).to.equal(5);
      expect(s.min).to.equal(2);
      expect(s.max).to.equal(9);
      expect(s.p50).to.equal(4.5);
      expect(s.stdev).to.be.closeTo(Math.sqrt(32 / 7), 1e-12);
      expect(s.p99).to.be.at.most(9);
    });

    it("is all NaN with count 0 for no samples, and stdev 0 for one", () => {
      const empty = summarize([]);
      expect(empty.count).to.equal(0);
      expect(empty.mean).to.be.NaN;
      expect(summarize([3]).stdev).to.equal(0);
    });
  });

  describe("linearFit", () => {
    it("recovers an exact line", () => {
      const fit = linearFit([
        [0, 3],
        [1, 5],
        [2, 7],
      ]);
      expect(fit.slope).to.be.closeTo(2, 1e-12);
      expect(fit.intercept).to.be.closeTo(3, 1e-12);
    });

    it("needs two distinct x values", () => {
      expect(() => linearFit([[1, 1]])).to.throw(RangeError);
      expect(() =>
        linearFit([
          [1, 1],
          [1, 2],
        ]),
      ).to.throw(RangeError);
    });
  });

  describe("logSteps", () => {
    it("gives 1-2-5 steps, or powers of ten, and always ends at `to`", () => {
      expect(logSteps(1, 100)).to.deep.equal([1, 2, 5, 10, 20, 50, 100]);
      expect(logSteps(1, 10_000, false)).to.deep.equal([1, 10, 100, 1000, 10_000]);
      expect(logSteps(1, 300, false)).to.deep.equal([1, 10, 100, 300]);
      expect(logSteps(5, 20)).to.deep.equal([5, 10, 20]);
      expect(() => logSteps(0, 10)).to.throw(RangeError);
    });
  });

  describe("timeSync", () => {
    it("runs the warm-up unmeasured and returns one duration per measured run", () => {
      let calls = 0;
      const times = timeSync(() => calls++, 5, 3);
      expect(calls).to.equal(8);
      expect(times).to.have.length(5);
      expect(times.every((t) => t >= 0)).to.equal(true);
    });
  });
});
