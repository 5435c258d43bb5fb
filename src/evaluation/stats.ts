/**
 * Descriptive statistics of timing samples. Percentiles use linear interpolation between the closest
 * ranks (the "R-7" / NumPy `linear` method): p = 0 is the minimum, p = 100 the maximum.
 */

export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Sample standard deviation (n − 1); 0 for fewer than two samples. */
  readonly stdev: number;
}

/** The p-th percentile (0 ≤ p ≤ 100) of samples, by linear interpolation; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

function percentileOfSorted(sorted: readonly number[], p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  if (lower === upper) return sorted[lower];
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

/** Count, mean, min, max, p50, p95, p99 and standard deviation; every figure NaN (count 0) for no samples. */
export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  if (n === 0) {
    return { count: 0, mean: NaN, min: NaN, max: NaN, p50: NaN, p95: NaN, p99: NaN, stdev: NaN };
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((acc, x) => acc + x, 0) / n;
  const variance = n < 2 ? 0 : sorted.reduce((acc, x) => acc + (x - mean) ** 2, 0) / (n - 1);
  return {
    count: n,
    mean,
    min: sorted[0],
    max: sorted[n - 1],
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    stdev: Math.sqrt(variance),
  };
}

/** Least-squares line y = intercept + slope · x through the points (at least two distinct x). */
export function linearFit(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) throw new RangeError("a linear fit needs at least two points");
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  if (sxx === 0) throw new RangeError("a linear fit needs at least two distinct x values");
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Powers of ten and their 2× and 5× steps from `from` to `to` inclusive (1, 2, 5, 10, …), or only powers of ten. */
export function logSteps(from: number, to: number, fine = true): number[] {
  if (!(from >= 1 && to >= from)) throw new RangeError(`logSteps needs 1 ≤ from ≤ to, got ${from}..${to}`);
  const out: number[] = [];
  for (let decade = 1; decade <= to; decade *= 10) {
    for (const m of fine ? [1, 2, 5] : [1]) {
      const v = decade * m;
      if (v >= from && v <= to) out.push(v);
    }
  }
  if (out[out.length - 1] !== to) out.push(to);
  return out;
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times measured; returns the milliseconds of each measured run. */
export function timeSync(fn: () => unknown, runs: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** The asynchronous form of `timeSync`. */
export async function timeAsync(fn: () => Promise<unknown>, runs: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}
