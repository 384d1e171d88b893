/** Counts per time bucket, for throughput-over-time charts. */
export class RateSeries {
  readonly bucketMs: number;
  readonly #buckets: number[] = [];

  constructor(bucketMs = 250) {
    this.bucketMs = bucketMs;
  }

  /** Adds `n` at `t` ms into the run. */
  add(t: number, n: number): void {
    const index = Math.max(0, Math.floor(t / this.bucketMs));
    while (this.#buckets.length <= index) this.#buckets.push(0);
    this.#buckets[index] = (this.#buckets[index] as number) + n;
  }

  /** Points `{t, perSec}`, t in the middle of each bucket (like {@link ratesFromCumulative}), from `fromMs` to `toMs`, zeros included. */
  points(fromMs = 0, toMs = this.#buckets.length * this.bucketMs): RatePoint[] {
    const points: RatePoint[] = [];
    const first = Math.max(0, Math.floor(fromMs / this.bucketMs));
    const last = Math.ceil(toMs / this.bucketMs);
    for (let i = first; i < last; i++) points.push({ t: (i + 0.5) * this.bucketMs, perSec: ((this.#buckets[i] ?? 0) * 1000) / this.bucketMs });
    return points;
  }
}

/** A rate at a time (ms into the run). */
export interface RatePoint {
  readonly t: number;
  readonly perSec: number;
}

/** Rates from a cumulative counter sampled over time (e.g. applied changes scraped from /metrics), t between the two samples. */
export function ratesFromCumulative(samples: readonly { t: number; value: number }[]): RatePoint[] {
  const points: RatePoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as { t: number; value: number };
    const b = samples[i] as { t: number; value: number };
    if (b.t > a.t) points.push({ t: (a.t + b.t) / 2, perSec: ((b.value - a.value) * 1000) / (b.t - a.t) });
  }
  return points;
}
