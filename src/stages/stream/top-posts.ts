import type { CountListener } from '../../ports/count-notifier.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';
import { forgetOldest, tenthOf } from '../../domain/bounded-map.ts';

export interface TopPost {
  readonly postId: string;
  /** Net likes gained in the window. */
  readonly likes: number;
  readonly count: number;
}

const BUCKET_MS = 1000;

/**
 * The posts that gained the most likes in the last `windowMs`, from the count changes this
 * process hears of: the gain of a change is its count minus the last count heard for the post (a
 * post first heard at version 1 gained its whole count). Memory is bounded: at most `maxPosts`
 * last counts and at most `maxPosts` posts per one-second bucket.
 */
export class TopPosts implements CountListener {
  readonly #windowMs: number;
  readonly #maxPosts: number;
  readonly #last = new Map<string, VersionedCount>();
  readonly #buckets: { start: number; gains: Map<string, number> }[] = [];

  constructor(options: { windowMs?: number; maxPosts?: number } = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxPosts = options.maxPosts ?? 100_000;
  }

  changed(counts: readonly VersionedCount[]): void {
    const bucket = this.#bucket(Date.now());
    for (const count of counts) {
      const last = this.#last.get(count.postId);
      if (last !== undefined && last.version >= count.version) continue;
      const before = last?.count ?? (count.version === 1 ? 0 : undefined);
      // In place (moving the key to the back costs ~10× as much): past `maxPosts` the tenth heard of
      // first is forgotten at once (one at a time, each `keys().next()` walked over the holes the
      // earlier deletes left: the api thread pegged with 1M posts), and a forgotten post's next
      // change adds no gain, as for a post never heard of.
      this.#last.set(count.postId, count);
      if (last === undefined && this.#last.size > this.#maxPosts) {
        forgetOldest(this.#last, tenthOf(this.#maxPosts));
      }
      if (before === undefined || count.count === before) continue;
      if (!bucket.gains.has(count.postId) && bucket.gains.size >= this.#maxPosts) continue;
      bucket.gains.set(count.postId, (bucket.gains.get(count.postId) ?? 0) + count.count - before);
    }
  }

  resync(): void {}

  /** The `limit` posts with the largest gain in the window, largest first. */
  top(limit: number): TopPost[] {
    const now = Date.now();
    const gains = new Map<string, number>();
    for (const bucket of this.#buckets) {
      if (bucket.start <= now - this.#windowMs) continue;
      for (const [postId, gain] of bucket.gains) gains.set(postId, (gains.get(postId) ?? 0) + gain);
    }
    return [...gains]
      .filter(([, likes]) => likes > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([postId, likes]) => ({ postId, likes, count: this.#last.get(postId)?.count ?? 0 }));
  }

  #bucket(now: number): { start: number; gains: Map<string, number> } {
    const start = now - (now % BUCKET_MS);
    const latest = this.#buckets.at(-1);
    if (latest !== undefined && latest.start === start) return latest;
    const bucket = { start, gains: new Map<string, number>() };
    this.#buckets.push(bucket);
    while ((this.#buckets[0]?.start ?? now) <= now - this.#windowMs - BUCKET_MS) this.#buckets.shift();
    return bucket;
  }
}
