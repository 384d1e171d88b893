import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram, recordMs } from '../histogram.ts';
import type { BenchHttp } from '../http-client.ts';
import { phaseProgress } from '../progress.ts';
import { RateSeries } from '../rate-series.ts';

/** What a fixed-duration request loop measured. */
export interface TimedResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSec: number;
  readonly latency: Histogram;
  readonly series: RateSeries;
}

/** Options of {@link timedRequests}. */
export interface TimedOptions {
  readonly name: string;
  readonly method: 'GET' | 'PUT';
  /** Paths used in turn. */
  readonly paths: readonly string[];
  readonly durationMs: number;
  readonly concurrency: number;
  readonly epoch: number;
  readonly progress: boolean;
}

/** `concurrency` loops sending requests back to back for `durationMs`; every answer must be 2xx. */
export async function timedRequests(http: BenchHttp, options: TimedOptions): Promise<TimedResult> {
  const { paths, concurrency, epoch } = options;
  const latency = latencyHistogram();
  const series = new RateSeries();
  const bar = phaseProgress(options.progress, options.name, Math.ceil(options.durationMs / 1000), 's');
  const start = performance.now();
  const end = start + options.durationMs;
  let next = 0;
  let requests = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const path = paths[next++ % paths.length] as string;
      const sent = performance.now();
      await http.expectOk(options.method, path);
      const done = performance.now();
      recordMs(latency, done - sent);
      series.add(done - epoch, 1);
      requests++;
    }
  };
  const ticker = setInterval(() => bar.update((performance.now() - start) / 1000), 200);
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearInterval(ticker);
    bar.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  return { requests, seconds, perSec: requests / seconds, latency, series };
}

/**
 * One result from rounds of the same requests (alternated with another phase, so that a
 * neighbour's load on a shared machine falls on both alike): requests and seconds add up, the
 * latencies merge; the rate series is the first round's.
 */
export function mergeTimed(rounds: readonly TimedResult[]): TimedResult {
  const [first, ...rest] = rounds;
  if (first === undefined) throw new Error('mergeTimed: no rounds');
  const latency = latencyHistogram();
  for (const round of rounds) latency.add(round.latency);
  const requests = first.requests + rest.reduce((sum, r) => sum + r.requests, 0);
  const seconds = first.seconds + rest.reduce((sum, r) => sum + r.seconds, 0);
  return { requests, seconds, perSec: requests / seconds, latency, series: first.series };
}
