import { ResearchError } from "./errors";
import type { RandomSource } from "./random";

/**
 * The Laplace mechanism (Dwork, McSherry, Nissim, Smith 2006): a query whose answer changes by at most `sensitivity`
 * (L1) when one twin is added or removed is ε-differentially private once Laplace noise of scale
 * `b = sensitivity / ε` is added. No maintained npm package offers it (the maintained DP libraries are Python, Go,
 * C++ and Rust), so this is a small sampler held to the Laplace CDF by a Kolmogorov–Smirnov test.
 *
 * Known limit: floating-point Laplace noise leaks through the low bits of the double (Mironov 2012); the snapping
 * mechanism would close that. Answers here are rounded before release (counts to integers, means and quantiles to
 * the query's declared precision), which narrows but does not formally close it.
 */

/** A draw from Laplace(0, scale) by inversion: `-b · sgn(u) · ln(1 - 2|u|)` with `u` uniform in (-1/2, 1/2). */
export function sampleLaplace(scale: number, random: RandomSource): number {
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new ResearchError("RESEARCH_INVALID_QUERY", `Laplace scale must be positive and finite, got ${scale}`);
  }
  let u = random() - 0.5;
  // u = -0.5 exactly would give ln(0); redraw (probability 2^-53).
  while (u === -0.5) u = random() - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

/** The CDF of Laplace(0, scale) at x. */
export function laplaceCdf(x: number, scale: number): number {
  return x < 0 ? 0.5 * Math.exp(x / scale) : 1 - 0.5 * Math.exp(-x / scale);
}

/** The noise scale for a query of L1 `sensitivity` answered with privacy `epsilon`. */
export function laplaceScale(sensitivity: number, epsilon: number): number {
  if (!(sensitivity > 0) || !Number.isFinite(sensitivity)) {
    throw new ResearchError("RESEARCH_INVALID_QUERY", `sensitivity must be positive and finite, got ${sensitivity}`);
  }
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new ResearchError("RESEARCH_INVALID_QUERY", `epsilon must be positive and finite, got ${epsilon}`);
  }
  return sensitivity / epsilon;
}

/** `value` plus Laplace noise of scale `sensitivity / epsilon`. */
export function laplaceMechanism(value: number, sensitivity: number, epsilon: number, random: RandomSource): number {
  return value + sampleLaplace(laplaceScale(sensitivity, epsilon), random);
}

/** Clamps `value` to [lo, hi]: what makes a sum's sensitivity finite. */
export function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}
