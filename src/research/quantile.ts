import type { RandomSource } from "./random";

/**
 * An ε-differentially private quantile by the exponential mechanism (Smith 2011): with the n clamped values sorted
 * and bracketed by the bounds, `lo = x_0 ≤ x_1 ≤ … ≤ x_n ≤ x_{n+1} = hi`, the mechanism picks the gap i between
 * x_i and x_{i+1} with probability ∝ (x_{i+1} − x_i) · exp(−ε · |i − q·n| / 2), then a point uniformly in it.
 * The utility −|i − q·n| changes by at most 1 when one twin is added or removed, hence ε/2 in the exponent.
 */
export function privateQuantile(
  values: readonly number[],
  q: number,
  lo: number,
  hi: number,
  epsilon: number,
  random: RandomSource,
): number {
  const xs = [lo, ...[...values].sort((a, b) => a - b), hi];
  const n = values.length;
  const target = q * n;
  const logWeights: number[] = [];
  let max = -Infinity;
  for (let i = 0; i + 1 < xs.length; i += 1) {
    const width = xs[i + 1] - xs[i];
    const w = width > 0 ? Math.log(width) - (epsilon * Math.abs(i - target)) / 2 : -Infinity;
    logWeights.push(w);
    if (w > max) max = w;
  }
  if (max === -Infinity) return lo; // lo === hi: every value is the bound
  let total = 0;
  const weights = logWeights.map((w) => {
    const e = Math.exp(w - max);
    total += e;
    return e;
  });
  let pick = random() * total;
  let gap = weights.length - 1;
  for (let i = 0; i < weights.length; i += 1) {
    if (pick < weights[i]) {
      gap = i;
      break;
    }
    pick -= weights[i];
  }
  // A zero-width gap has zero weight, so the loop never picks one; the fallback (rounding at the end) may.
  while (weights[gap] === 0) gap -= 1;
  return xs[gap] + random() * (xs[gap + 1] - xs[gap]);
}
