import type { Random } from './prng.ts';

/**
 * Samples ranks 0..n-1 where rank r has probability proportional to 1 / (r + 1)^s: Zipf's law,
 * the shape of post popularity. Inverts a precomputed cumulative table by binary search, so a
 * sample costs O(log n) and the distribution is exact for any s ≥ 0.
 */
export class ZipfSampler {
  readonly #cdf: Float64Array;

  constructor(n: number, s: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Zipf needs n ≥ 1, got ${n}`);
    if (!(s >= 0)) throw new RangeError(`Zipf needs s ≥ 0, got ${s}`);
    this.#cdf = new Float64Array(n);
    let total = 0;
    for (let r = 0; r < n; r++) {
      total += 1 / Math.pow(r + 1, s);
      this.#cdf[r] = total;
    }
    for (let r = 0; r < n; r++) this.#cdf[r] = (this.#cdf[r] as number) / total;
    this.#cdf[n - 1] = 1;
  }

  get size(): number {
    return this.#cdf.length;
  }

  /** Probability of rank r. */
  probability(r: number): number {
    const upper = this.#cdf[r];
    if (upper === undefined) return 0;
    return r === 0 ? upper : upper - (this.#cdf[r - 1] as number);
  }

  /** One rank drawn with `random`. */
  sample(random: Random): number {
    const u = random();
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
