import type { CountCache } from '../../ports/count-cache.ts';
import type { CounterStore } from '../../ports/counter-store.ts';

/** The read path: cache first, misses from the counter store, which then fill the cache. */
export class CountReader {
  readonly #cache: CountCache;
  readonly #store: CounterStore;

  constructor(cache: CountCache, store: CounterStore) {
    this.#cache = cache;
    this.#store = store;
  }

  /** Counts of the given posts; a post never liked counts 0. */
  async counts(postIds: readonly string[]): Promise<Map<string, number>> {
    const hits = await this.#cache.getMany(postIds);
    const result = new Map<string, number>();
    const misses: string[] = [];
    for (const postId of postIds) {
      const hit = hits.get(postId);
      if (hit === undefined) misses.push(postId);
      else result.set(postId, hit.count);
    }
    if (misses.length > 0) {
      const stored = await this.#store.getMany(misses);
      // Posts never liked are cached as version 0, so the counter's first write supersedes them.
      const fills = misses.map((postId) => stored.get(postId) ?? { postId, count: 0, version: 0 });
      await this.#cache.setMany(fills);
      for (const postId of misses) result.set(postId, stored.get(postId)?.count ?? 0);
    }
    return result;
  }
}
