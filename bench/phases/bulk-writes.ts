import type { Histogram } from 'hdr-histogram-js';
import { bulkBodies } from '../bulk-bodies.ts';
import { latencyHistogram, recordMs } from '../histogram.ts';
import type { BenchHttp } from '../http-client.ts';
import { runOrdered } from '../ordered-runner.ts';
import { phaseProgress } from '../progress.ts';
import { RateSeries } from '../rate-series.ts';
import type { Workload } from '../workload.ts';

/** What sending a workload through POST /v1/events measured. */
export interface BulkSent {
  /** Events acknowledged: always the first `events` of the workload. */
  readonly events: number;
  readonly batches: number;
  /** ms into the run of the first request and of the last 2xx. */
  readonly startedAt: number;
  readonly acceptedAt: number;
  /** Latency of one batch request. */
  readonly latency: Histogram;
  readonly accepted: RateSeries;
}

/** Options of {@link sendBulk}. */
export interface BulkOptions {
  readonly name: string;
  readonly prefix: string;
  readonly batch: number;
  /** Batches in flight; also the ordering window, in batches. */
  readonly concurrency: number;
  readonly epoch: number;
  /** Stop starting batches after this many ms (the mixed phase); unbounded when absent. */
  readonly durationMs?: number;
  readonly progress: boolean;
}

/**
 * Sends the workload's events in order, `batch` per request, with at most `concurrency` requests
 * in flight and never two requests more than `concurrency` batches apart, which keeps the order
 * of each (post, user) pair (see {@link Workload}'s minGap).
 */
export async function sendBulk(http: BenchHttp, workload: Workload, options: BulkOptions): Promise<BulkSent> {
  const { batch, epoch } = options;
  const bodies = bulkBodies(workload, options.prefix, batch);
  const n = workload.post.length;
  const latency = latencyHistogram();
  const accepted = new RateSeries();
  const bar = phaseProgress(options.progress, options.name, n, 'events');
  let done = 0;
  const startedAt = performance.now() - epoch;
  const stopAt = options.durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.durationMs;
  let acceptedAt = startedAt;
  let batches: number;
  try {
    batches = await runOrdered({
      count: bodies.length,
      concurrency: options.concurrency,
      window: options.concurrency,
      shouldStop: () => performance.now() >= stopAt,
      task: async (b) => {
        const sent = performance.now();
        await http.expectOk('POST', '/v1/events', bodies[b]);
        const now = performance.now();
        const size = Math.min(batch, n - b * batch);
        recordMs(latency, now - sent);
        accepted.add(now - epoch, size);
        acceptedAt = Math.max(acceptedAt, now - epoch);
        done += size;
        bar.update(done);
      },
    });
  } finally {
    bar.stop();
  }
  return { events: Math.min(n, batches * batch), batches, startedAt, acceptedAt, latency, accepted };
}
