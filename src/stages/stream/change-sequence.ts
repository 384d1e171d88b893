import { forgetOldest, tenthOf } from '../../domain/bounded-map.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';

/** A count as the sequence numbered it. */
export interface NumberedCount {
  readonly seq: number;
  readonly count: VersionedCount;
}

/**
 * Numbers the count changes one hub hears of and remembers, per post, its newest numbered count,
 * for at most `maxPosts` posts. A version is numbered once: a change whose version is not newer
 * than the post's remembered one gets no number. A forgotten post (or every post, after
 * `forgetAll`) is taken as changed at the `floor`: the number given when it was forgotten. So
 * `changedAfter(p, s)` may say yes for a post that did not change (the stream then resends a
 * current value), never no for one that did.
 */
export class ChangeSequence {
  readonly #latest = new Map<string, NumberedCount>();
  readonly #maxPosts: number;
  #seq = 0;
  #floor = 0;

  constructor(maxPosts: number) {
    this.#maxPosts = Math.max(1, maxPosts);
  }

  get current(): number {
    return this.#seq;
  }

  /** True once a post was forgotten (past the bound, or by `forgetAll`): an unremembered post may have been numbered. */
  get forgot(): boolean {
    return this.#floor > 0;
  }

  /** The newest count numbered for this post, while it is remembered. */
  latest(postId: string): NumberedCount | undefined {
    return this.#latest.get(postId);
  }

  /**
   * Numbers a post's count when its version is newer than the one remembered (or the post is not
   * remembered), and returns the number; undefined when that version or a newer one was numbered
   * already. A post already remembered is updated in place: moving it to the back of the map
   * (delete, then set) cost ~10× as much on a map of 100,000 posts, on the api thread, for every
   * count change. So the post forgotten past `maxPosts` is the one remembered first, not the one
   * changed least recently: the floor may then rise to a recent number, and a resuming stream
   * resends more current values, never fewer. Past the bound a tenth is forgotten at once:
   * forgetting one post per new post made each `keys().next()` walk over the holes the earlier
   * deletes left at the front of the map, which pegged the api thread with 1M posts.
   */
  next(count: VersionedCount): number | undefined {
    const known = this.#latest.get(count.postId);
    if (known !== undefined && known.count.version >= count.version) return undefined;
    const seq = ++this.#seq;
    this.#latest.set(count.postId, { seq, count });
    if (known === undefined && this.#latest.size > this.#maxPosts) {
      forgetOldest(this.#latest, tenthOf(this.#maxPosts), (_, oldest) => {
        this.#floor = Math.max(this.#floor, oldest.seq);
      });
    }
    return seq;
  }

  /** Changes may have been missed: every post counts as changed now. */
  forgetAll(): void {
    this.#floor = ++this.#seq;
    this.#latest.clear();
  }

  /** True when the post may have changed after `seq`. */
  changedAfter(postId: string, seq: number): boolean {
    return (this.#latest.get(postId)?.seq ?? this.#floor) > seq;
  }
}
