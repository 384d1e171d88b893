/** A seedable pseudo-random number generator: returns floats in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny 32-bit generator, fast and good enough for workloads (not for cryptography).
 * The same seed always gives the same sequence, so a benchmark run can be repeated exactly.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}
