import type { LikeEvent } from '../../domain/like-event.ts';
import type { CountListener } from '../../ports/count-notifier.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';

/**
 * Freshness, like → visible: remembers when this api process accepted the oldest like not yet
 * seen counted, per post (at most `maxPosts`), and observes the time to the next count change of
 * that post it hears of. A change from a batch that did not hold the like yet ends the wait
 * early, so the figure leans low under a steady stream of likes of one post.
 */
export class FreshnessTracker implements CountListener {
  readonly #waiting = new Map<string, number>();
  readonly #observe: (seconds: number) => void;
  readonly #maxPosts: number;

  constructor(observe: (seconds: number) => void, maxPosts = 10_000) {
    this.#observe = observe;
    this.#maxPosts = maxPosts;
  }

  /** Events made durable by this process (their 202 is on its way). */
  accepted(events: readonly LikeEvent[]): void {
    const now = Date.now();
    for (const event of events) {
      if (event.op !== 'like' || this.#waiting.has(event.postId)) continue;
      if (this.#waiting.size >= this.#maxPosts) return;
      this.#waiting.set(event.postId, now);
    }
  }

  changed(counts: readonly VersionedCount[]): void {
    if (this.#waiting.size === 0) return;
    const now = Date.now();
    for (const { postId } of counts) {
      const since = this.#waiting.get(postId);
      if (since === undefined) continue;
      this.#waiting.delete(postId);
      this.#observe((now - since) / 1000);
    }
  }

  resync(): void {
    this.#waiting.clear();
  }
}
