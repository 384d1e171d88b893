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

  /** Numbers one change of a post. */
  next(postId: string): number {
    const seq = ++this.#seq;
    this.#latest.delete(postId);
    this.#latest.set(postId, seq);
    if (this.#latest.size > this.#maxPosts) {
      for (const [oldest, oldestSeq] of this.#latest) {
        this.#latest.delete(oldest);
        this.#floor = Math.max(this.#floor, oldestSeq);
        break;
      }
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
