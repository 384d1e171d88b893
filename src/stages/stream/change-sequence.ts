import { forgetOldest, tenthOf } from '../../domain/bounded-map.ts';

/**
 * Numbers the count changes one hub receives and remembers, per post, the number of its latest
 * change, for at most `maxPosts` posts. A forgotten post (or every post, after `forgetAll`) is
 * taken as changed at the `floor`: the number given when it was forgotten. So `changedAfter(p, s)`
 * may say yes for a post that did not change (the stream then resends a current value), never no
 * for one that did.
 */
export class ChangeSequence {
  readonly #latest = new Map<string, number>();
  readonly #maxPosts: number;
  #seq = 0;
  #floor = 0;

  constructor(maxPosts: number) {
    this.#maxPosts = Math.max(1, maxPosts);
  }

  get current(): number {
    return this.#seq;
  }

  /**
   * Numbers one change of a post. A post already remembered is updated in place: moving it to the
   * back of the map (delete, then set) cost ~10× as much on a map of 100,000 posts, on the api
   * thread, for every count change. So the post forgotten past `maxPosts` is the one remembered
   * first, not the one changed least recently: the floor may then rise to a recent number, and a
   * resuming stream resends more current values, never fewer. Past the bound a tenth is forgotten
   * at once: forgetting one post per new post made each `keys().next()` walk over the holes the
   * earlier deletes left at the front of the map, which pegged the api thread with 1M posts.
   */
  next(postId: string): number {
    const seq = ++this.#seq;
    const known = this.#latest.has(postId);
    this.#latest.set(postId, seq);
    if (!known && this.#latest.size > this.#maxPosts) {
      forgetOldest(this.#latest, tenthOf(this.#maxPosts), (_, oldestSeq) => {
        this.#floor = Math.max(this.#floor, oldestSeq);
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
    return (this.#latest.get(postId) ?? this.#floor) > seq;
  }
}
