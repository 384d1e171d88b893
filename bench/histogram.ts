import { build, type Histogram } from 'hdr-histogram-js';

/** A latency histogram recording microseconds, from 1 µs to 10 minutes, 3 significant digits. */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, autoResize: false });
}

/** Records a duration given in milliseconds (clamped to the histogram's range). */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.min(600_000_000, Math.max(1, Math.round(ms * 1000))));
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

const round = (microseconds: number): number => Math.round(microseconds) / 1000;

/** The summary of a histogram of microseconds; all zero when it is empty. */
export function summarize(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  return {
    count: histogram.totalCount,
    meanMs: round(histogram.mean),
    p50Ms: round(histogram.getValueAtPercentile(50)),
    p90Ms: round(histogram.getValueAtPercentile(90)),
    p99Ms: round(histogram.getValueAtPercentile(99)),
    p999Ms: round(histogram.getValueAtPercentile(99.9)),
    maxMs: round(histogram.maxValue),
  };
}

/** Percentiles where the latency curve of the report is sampled: 0, 50, 75, 87.5 ... up to 99.999 and 100. */
export const CURVE_PERCENTILES: readonly number[] = [
  ...Array.from({ length: 18 }, (_, i) => 100 * (1 - Math.pow(0.5, i))).filter((p) => p < 99.999),
  99.999,
  100,
];

/** One point of an HDR latency-by-percentile curve. */
export interface CurvePoint {
  readonly percentile: number;
  readonly ms: number;
}

/** The latency at each of {@link CURVE_PERCENTILES}: what the report draws. */
export function percentileCurve(histogram: Histogram): CurvePoint[] {
  if (histogram.totalCount === 0) return [];
  return CURVE_PERCENTILES.map((percentile) => ({
    percentile,
    ms: round(histogram.getValueAtPercentile(percentile)),
  }));
}
