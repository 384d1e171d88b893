import { latencyHistogram, recordMs } from './histogram.ts';
import type { BenchHttp } from './http-client.ts';
import type { LoadGenerator, LoadResult } from './load-generator.ts';
import type { TimedResult } from './phases/timed-requests.ts';
import { RateSeries } from './rate-series.ts';
import { readCounts, type Expectation, type Mismatch } from './verify.ts';
import type { WrkResult } from './wrk-client.ts';

/**
 * The single likes wrk sends, as a sequence the bench recomputes (bench/wrk/likes.lua): like k
 * is user `<users>k` liking post `posts[k mod posts.length]`. Every user is new, so each like of
 * the sequence changes its post's count by exactly one, whether wrk's request or the replay
 * ({@link replayBodies}) applies it.
 *
 * wrk stops with up to one request per connection unanswered, which the server may or may not
 * have made durable; and it counts the requests it built, not which were answered. So the check
 * is in two steps: after the phase, every post's count must lie in
 * [sent − unanswered, sent] and their sum must be at least the 202s (an acknowledged like that
 * was lost fails here); then the whole sequence is replayed through POST /v1/events (liking an
 * existing pair changes nothing) and the final check wants exactly `sent` for every post.
 */
export class LikeSequence {
  readonly #posts: readonly string[];
  readonly #users: string;
  readonly #file: string;
  /** Likes of the sequence used so far (the next run starts there). */
  sent = 0;
  /** 202s received. */
  acknowledged = 0;

  constructor(load: LoadGenerator, posts: readonly string[], users: string) {
    this.#posts = posts;
    this.#users = users;
    this.#file = load.file(`likes-${users}.txt`, posts);
  }

  /** Sends likes through wrk for `durationMs` from where the sequence stands. Non-2xx answers other than 429/503 fail the phase. */
  async run(load: LoadGenerator, origin: string, connections: number, durationMs: number): Promise<WrkResult> {
    const result = await load.wrk({ origin, script: 'likes.lua', args: [this.#file, String(this.sent), this.#users, load.authorization], connections, durationMs });
    this.sent += result.sent;
    this.acknowledged += result.requests - result.non2xx;
    return result;
  }

  /** The next `durationMs` of the sequence through wrk, or through the Node client when the generator is the Node one. */
  async send(load: LoadGenerator, http: BenchHttp, options: { origin: string; connections: number; durationMs: number; epoch: number }): Promise<LoadResult> {
    if (load.kind === 'wrk') return this.run(load, options.origin, options.connections, options.durationMs);
    return { ...(await this.runNode(http, options.connections, options.durationMs, options.epoch)), clientCpuSeconds: undefined };
  }

  /**
   * The same sequence through the Node client (the fallback when wrk is missing): `connections`
   * loops of one PUT at a time for `durationMs`. It waits for every answer, so all it sent is
   * acknowledged (429/503 are retried; anything else fails the phase).
   */
  async runNode(http: BenchHttp, connections: number, durationMs: number, epoch: number): Promise<TimedResult> {
    const latency = latencyHistogram();
    const series = new RateSeries();
    const start = performance.now();
    const end = start + durationMs;
    const worker = async (): Promise<void> => {
      while (performance.now() < end) {
        const k = this.sent++;
        const sentAt = performance.now();
        await http.expectOk('PUT', `/v1/posts/${this.#posts[k % this.#posts.length] as string}/likes/${this.#users}${k}`);
        const now = performance.now();
        recordMs(latency, now - sentAt);
        series.add(now - epoch, 1);
        this.acknowledged++;
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    const seconds = (performance.now() - start) / 1000;
    const requests = latency.totalCount;
    return { requests, seconds, perSec: requests / seconds, latency, series };
  }

  /** Each post's count once every like of the sequence is applied. */
  expectations(): Expectation[] {
    const counts = new Map<string, number>();
    for (let k = 0; k < this.sent; k++) {
      const post = this.#posts[k % this.#posts.length] as string;
      counts.set(post, (counts.get(post) ?? 0) + 1);
    }
    return [...counts].map(([postId, count]) => ({ postId, count }));
  }

  /** Posts whose count is outside [sent − unanswered, sent], or one entry `(sum)` when the counts add up to fewer than the 202s; empty when all is well. */
  async checkBounds(http: BenchHttp): Promise<Mismatch[]> {
    const expected = this.expectations();
    const actual = await readCounts(http, expected.map((e) => e.postId));
    const slack = this.sent - this.acknowledged;
    const wrong: Mismatch[] = [];
    let sum = 0;
    for (const e of expected) {
      const count = actual.get(e.postId);
      sum += count ?? 0;
      if (count === undefined || count > e.count || count < e.count - slack) wrong.push({ ...e, actual: count });
    }
    if (sum < this.acknowledged) wrong.push({ postId: '(sum of the wrk posts)', count: this.acknowledged, actual: sum });
    return wrong;
  }

  /** POST /v1/events bodies liking the whole sequence again, `batch` likes each. */
  replayBodies(batch: number): Buffer[] {
    const bodies: Buffer[] = [];
    for (let start = 0; start < this.sent; start += batch) {
      const parts: string[] = [];
      for (let k = start; k < Math.min(this.sent, start + batch); k++) {
        parts.push(`{"op":"like","postId":"${this.#posts[k % this.#posts.length] as string}","userId":"${this.#users}${k}"}`);
      }
      bodies.push(Buffer.from(`{"events":[${parts.join(',')}]}`));
    }
    return bodies;
  }
}
