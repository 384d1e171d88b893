import type { LikeEvent } from '../../src/domain/like-event.ts';

/** The independent ground truth: a plain set of (post, user) pairs driven by the same events. */
export class LikesModel {
  readonly #pairs = new Set<string>();

  apply(events: Iterable<Pick<LikeEvent, 'op' | 'postId' | 'userId'>>): void {
    for (const e of events) {
      const key = `${e.postId}\u0000${e.userId}`;
      if (e.op === 'like') this.#pairs.add(key);
      else this.#pairs.delete(key);
    }
  }

  liked(postId: string, userId: string): boolean {
    return this.#pairs.has(`${postId}\u0000${userId}`);
  }

  /** The posts a user likes (its Likes tab, unordered), ascending. */
  postsOf(userId: string): string[] {
    const posts: string[] = [];
    for (const key of this.#pairs) {
      const at = key.indexOf('\u0000');
      if (key.slice(at + 1) === userId) posts.push(key.slice(0, at));
    }
    return posts.sort();
  }

  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const key of this.#pairs) {
      const postId = key.slice(0, key.indexOf('\u0000'));
      counts.set(postId, (counts.get(postId) ?? 0) + 1);
    }
    return counts;
  }
}
