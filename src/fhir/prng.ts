/**
 * A small seeded pseudo-random generator (mulberry32) and the few distributions the cohort
 * generator needs. Only integer and IEEE basic arithmetic is used (no Math.sin, Math.log), so a
 * seed gives the same numbers on every platform and Node version.
 */

/** Mixes two 32-bit values into a well-spread 32-bit seed (murmur3's finalizer). */
export function mixSeed(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Approximately standard normal (Irwin-Hall of four uniforms, scaled to unit variance), within ±3.47. */
  normal(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508075688772;
  }

  /** A version-4 UUID. */
  uuid(): string {
    const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
    const a = hex(this.next() * 4294967296);
    const b = hex(this.next() * 4294967296);
    const c = hex(this.next() * 4294967296);
    const d = hex(this.next() * 4294967296);
    const variant = "89ab"[parseInt(c[0], 16) & 3];
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  }
}

/**
 * cos(2πx) for x in turns, by Bhaskara I's rational approximation (error below 0.002), using
 * only arithmetic so results are the same everywhere.
 */
export function cosTurns(x: number): number {
  const u = Math.abs(x - Math.round(x));
  if (u <= 0.25) return (1 - 16 * u * u) / (1 + 4 * u * u);
  const v = 0.5 - u;
  return -(1 - 16 * v * v) / (1 + 4 * v * v);
}
