import { randomBytes } from "node:crypto";

/**
 * Uniform randomness for the noise mechanisms: a function returning a double in [0, 1) with 53 random bits.
 * Production answers use `secureRandom` (the OS's CSPRNG); tests and reproducible demos use `seededRandom`.
 */
export type RandomSource = () => number;

const TWO_POW_53 = 2 ** 53;

/** A double in [0, 1) from two 32-bit words: 27 high bits of the first and 26 of the second, as in V8/Java. */
function doubleOf(a: number, b: number): number {
  return ((a >>> 5) * 67108864 + (b >>> 6)) / TWO_POW_53;
}

/** Uniform doubles from the OS's CSPRNG, drawn in blocks of 512 to keep the syscalls few. */
export function secureRandom(): RandomSource {
  let pool = new Uint32Array(0);
  let next = 0;
  return () => {
    if (next + 2 > pool.length) {
      const bytes = randomBytes(2048);
      pool = new Uint32Array(bytes.buffer, bytes.byteOffset, 512);
      next = 0;
    }
    const value = doubleOf(pool[next], pool[next + 1]);
    next += 2;
    return value;
  };
}

/**
 * A seeded generator (sfc32, seeded through splitmix32 from one 32-bit integer): the same seed gives the same
 * doubles. For tests and the demo only: never for a released answer, whose noise must not be predictable.
 */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const word = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i += 1) word();
  return () => doubleOf(word(), word());
}
