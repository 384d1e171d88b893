import type { Histogram } from 'hdr-histogram-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { latencyHistogram, recordMs } from '../histogram.ts';
import type { BenchHttp } from '../http-client.ts';
import type { Expectation } from '../verify.ts';
import type { Workload } from '../workload.ts';

/** What one paced (open-loop) rate measured. */
export interface PacedSent {
  /** Fraction of the bulk capacity this rate is. */
  readonly share: number;
  /** The rate asked for, likes per second. */
  readonly ratePerSec: number;
  /** Likes acknowledged ÷ the phase's scheduled seconds (below `ratePerSec` when the sender fell behind). */
  readonly sentPerSec: number;
  readonly likes: number;
  /** Like → visible, from each probe like's scheduled send time (coordinated omission corrected). */
  readonly latency: Histogram;
  /** Probe likes not visible within the timeout (recorded at the timeout). */
  readonly timeouts: number;
  /** How late the sender started its latest batch, ms (a sender that cannot keep the clock shows here). */
  readonly maxSendLagMs: number;
  /** The counts every post of the phase must end with. */
  readonly expectations: readonly Expectation[];
}

/** Options of {@link sendPaced}. */
export interface PacedOptions {
  readonly share: number;
  readonly ratePerSec: number;
  readonly durationMs: number;
  /** Prefix of the phase's post ids (one per rate, so the phases never share a post). */
  readonly prefix: string;
  /** ms between two scheduled batches. */
  readonly tickMs: number;
  /** Probe posts, liked once per batch in turn. */
  readonly probes: number;
  readonly timeoutMs: number;
}

/**
 * Likes at a constant rate, open loop: batch k of POST /v1/events is due at start + k·tickMs and
 * is sent then whatever the answers to earlier batches (they may be in flight together), so a
 * slow server does not slow the arrivals. Each batch carries `rate × tickMs` likes (a new user
 * each, on the workload's posts) and one probe like on one of `probes` probe posts; a poller
 * reads the probe posts' counts back to back and, when a probe post's count reaches a probe
 * like's number, records the time since that like's scheduled send: like → visible, corrected
 * for coordinated omission.
 */
export async function sendPaced(http: BenchHttp, poller: BenchHttp, workload: Workload, options: PacedOptions): Promise<PacedSent> {
  const { tickMs, probes, prefix } = options;
  const n = workload.post.length;
  const ticks = Math.max(1, Math.round(options.durationMs / tickMs));
  const perTick = (options.ratePerSec * tickMs) / 1000;
  const probePosts = Array.from({ length: probes }, (_, p) => `${prefix}probe${p}`);
  const counts = new Map<string, number>();
  // Bodies are built before the clock starts, so the sender only sends bytes.
  const bodies: Buffer[] = [];
  let likes = 0;
  for (let k = 0; k < ticks; k++) {
    const until = Math.round(perTick * (k + 1));
    const parts: string[] = [];
    for (; likes < until; likes++) {
      const post = `${prefix}${workload.post[likes % n] as number}`;
      counts.set(post, (counts.get(post) ?? 0) + 1);
      parts.push(`{"op":"like","postId":"${post}","userId":"q${likes}"}`);
    }
    parts.push(`{"op":"like","postId":"${probePosts[k % probes] as string}","userId":"qp${k}"}`);
    bodies.push(Buffer.from(`{"events":[${parts.join(',')}]}`));
  }
  for (const [p, post] of probePosts.entries()) counts.set(post, Math.ceil((ticks - p) / probes));

  const latency = latencyHistogram();
  const scheduled = new Float64Array(ticks);
  const seen = new Array<number>(probes).fill(0);
  let visible = 0;
  let timeouts = 0;
  let maxSendLagMs = 0;
  const start = performance.now() + 20;
  for (let k = 0; k < ticks; k++) scheduled[k] = start + k * tickMs;
  let sending = true;
  const inFlight = new Set<Promise<unknown>>();
  let failure: Error | undefined;

  const poll = async (): Promise<void> => {
    const path = `/v1/counts?posts=${probePosts.join(',')}`;
    let deadline = Number.POSITIVE_INFINITY;
    while (visible < ticks) {
      const answer = await poller.expectOk('GET', path);
      const now = performance.now();
      const read = (JSON.parse(answer.text) as { counts: Record<string, number> }).counts;
      for (let p = 0; p < probes; p++) {
        const count = read[probePosts[p] as string] ?? 0;
        // Probe post p's j-th like (1-based) is batch p + (j − 1)·probes.
        for (let j = (seen[p] as number) + 1; j <= count; j++) {
          const k = p + (j - 1) * probes;
          if (k < ticks) {
            recordMs(latency, now - (scheduled[k] as number));
            visible++;
          }
        }
        seen[p] = Math.max(seen[p] as number, count);
      }
      if (!sending && deadline === Number.POSITIVE_INFINITY) deadline = now + options.timeoutMs;
      if (now > deadline) {
        for (let k = 0; k < ticks; k++) {
          const p = k % probes;
          if (Math.floor(k / probes) + 1 > (seen[p] as number)) {
            recordMs(latency, now - (scheduled[k] as number));
            timeouts++;
          }
        }
        return;
      }
      await sleep(1);
    }
  };
  const polling = poll();

  for (let k = 0; k < ticks && failure === undefined; k++) {
    const due = scheduled[k] as number;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - due);
    const request: Promise<unknown> = http.expectOk('POST', '/v1/events', bodies[k]).then(
      () => inFlight.delete(request),
      (error: unknown) => {
        failure = error instanceof Error ? error : new Error('a paced batch failed');
      },
    );
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  sending = false;
  await polling;
  if (failure !== undefined) throw failure;
  const seconds = (ticks * tickMs) / 1000;
  return {
    share: options.share,
    ratePerSec: options.ratePerSec,
    sentPerSec: likes / seconds,
    likes: likes + ticks,
    latency,
    timeouts,
    maxSendLagMs,
    expectations: [...counts].map(([postId, count]) => ({ postId, count })),
  };
}
