import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram, recordMs } from '../histogram.ts';
import type { BenchHttp } from '../http-client.ts';
import { runOrdered } from '../ordered-runner.ts';
import { phaseProgress } from '../progress.ts';
import { RateSeries } from '../rate-series.ts';
import { LIKE, postId, userId, type Workload } from '../workload.ts';

/** What one-like-per-request writing measured. */
export interface SingleSent {
  /** Requests acknowledged: always the first `requests` events of the workload. */
  readonly requests: number;
  readonly seconds: number;
  readonly perSec: number;
  readonly latency: Histogram;
  readonly series: RateSeries;
}

/** Options of {@link sendSingle}. */
export interface SingleOptions {
  readonly prefix: string;
  readonly concurrency: number;
  /** Ordering window in events (the workload's minGap or less). */
  readonly window: number;
  readonly durationMs: number;
  readonly epoch: number;
  readonly progress: boolean;
}

/** PUT (like) or DELETE (unlike) one event per request, in workload order, for at most `durationMs`. */
export async function sendSingle(http: BenchHttp, workload: Workload, options: SingleOptions): Promise<SingleSent> {
  const n = workload.post.length;
  const paths = new Array<string>(n);
  for (let i = 0; i < n; i++) paths[i] = `/v1/posts/${postId(options.prefix, workload.post[i] as number)}/likes/${userId(workload.user[i] as number)}`;
  const latency = latencyHistogram();
  const series = new RateSeries();
  const bar = phaseProgress(options.progress, 'single likes (PUT)', Math.ceil(options.durationMs / 1000), 's');
  const start = performance.now();
  const stopAt = start + options.durationMs;
  const ticker = setInterval(() => bar.update((performance.now() - start) / 1000), 200);
  let requests: number;
  try {
    requests = await runOrdered({
      count: n,
      concurrency: options.concurrency,
      window: options.window,
      shouldStop: () => performance.now() >= stopAt,
      task: async (i) => {
        const sent = performance.now();
        await http.expectOk(workload.op[i] === LIKE ? 'PUT' : 'DELETE', paths[i] as string);
        const now = performance.now();
        recordMs(latency, now - sent);
        series.add(now - options.epoch, 1);
      },
    });
  } finally {
    clearInterval(ticker);
    bar.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  return { requests, seconds, perSec: requests / seconds, latency, series };
}
