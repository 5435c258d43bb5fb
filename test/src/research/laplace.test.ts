import { expect } from "chai";
import {
  laplaceCdf,
  laplaceMechanism,
  laplaceScale,
  privateQuantile,
  ResearchError,
  sampleLaplace,
  seededRandom,
  secureRandom,
} from "../../../src/research";

/** The Kolmogorov–Smirnov statistic of `sample` against `cdf`. */
function ksStatistic(sample: number[], cdf: (x: number) => number): number {
  const xs = [...sample].sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return d;
}

/** The KS critical value at α = 0.001 for large n: 1.949 / √n. */
const ksCritical = (n: number) => 1.949 / Math.sqrt(n);

describe("research: randomness and the Laplace mechanism", function () {
  it("seeded randomness is reproducible, uniform on [0, 1), and differs between seeds", function () {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 20_000 }, () => a());
    expect(xs.slice(0, 5)).to.deep.equal(Array.from({ length: 5 }, () => b()));
    expect(c()).to.not.equal(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).to.equal(true);
    expect(ksStatistic(xs, (x) => Math.min(1, Math.max(0, x)))).to.be.below(ksCritical(xs.length));
  });

  it("secure randomness is uniform on [0, 1) too", function () {
    const r = secureRandom();
    const xs = Array.from({ length: 5_000 }, () => r());
    expect(xs.every((x) => x >= 0 && x < 1)).to.equal(true);
    // Not seeded: a loose bound (3 / √n, α ≈ 1e-7) so that the test does not flake.
    expect(ksStatistic(xs, (x) => x)).to.be.below(3 / Math.sqrt(xs.length));
  });

  for (const scale of [0.5, 1, 10]) {
    it(`draws follow Laplace(0, ${scale}) (Kolmogorov–Smirnov, seeded, n = 20,000)`, function () {
      const random = seededRandom(1000 + scale * 10);
      const xs = Array.from({ length: 20_000 }, () => sampleLaplace(scale, random));
      expect(ksStatistic(xs, (x) => laplaceCdf(x, scale))).to.be.below(ksCritical(xs.length));
      // and not a Laplace of another scale: the test has power
      expect(ksStatistic(xs, (x) => laplaceCdf(x, scale * 1.5))).to.be.above(ksCritical(xs.length));
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const variance = xs.reduce((s, x) => s + x * x, 0) / xs.length;
      expect(Math.abs(mean)).to.be.below(0.05 * scale);
      expect(variance / (2 * scale * scale)).to.be.within(0.95, 1.05);
    });
  }

  it("scales the noise as sensitivity / ε around the true value", function () {
    expect(laplaceScale(3, 0.5)).to.equal(6);
    const random = seededRandom(7);
    const xs = Array.from({ length: 20_000 }, () => laplaceMechanism(100, 2, 0.5, random) - 100);
    expect(ksStatistic(xs, (x) => laplaceCdf(x, 4))).to.be.below(ksCritical(xs.length));
  });

  it("refuses a non-positive or infinite scale, sensitivity or ε", function () {
    const random = seededRandom(1);
    for (const bad of [0, -1, Infinity, NaN]) {
      expect(() => sampleLaplace(bad, random))
        .to.throw(ResearchError)
        .with.property("code", "RESEARCH_INVALID_QUERY");
      expect(() => laplaceScale(bad, 1)).to.throw(ResearchError);
      expect(() => laplaceScale(1, bad)).to.throw(ResearchError);
    }
  });

  it("redraws the one uniform value that would give ln(0)", function () {
    const values = [0, 0.75];
    const x = sampleLaplace(1, () => values.shift()!);
    expect(x).to.be.closeTo(Math.log(2), 1e-12);
  });

  it("private quantiles land near the true quantile with a large ε and stay within the bounds", function () {
    const random = seededRandom(5);
    const values = Array.from({ length: 500 }, (_, i) => 50 + (i % 100));
    const medians = Array.from({ length: 50 }, () => privateQuantile(values, 0.5, 0, 200, 5, random));
    medians.forEach((m) => expect(m).to.be.within(90, 110));
    expect(privateQuantile(values, 0.9, 0, 200, 5, random)).to.be.within(130, 150);
    expect(privateQuantile([7, 7], 0.5, 7, 7, 1, random)).to.equal(7);
    for (let i = 0; i < 200; i += 1) expect(privateQuantile([], 0.5, 0, 1, 0.1, random)).to.be.within(0, 1);
  });
});
