import type { CountCache } from '../../ports/count-cache.ts';
import type { CounterStore } from '../../ports/counter-store.ts';
import { NearCache } from './near-cache.ts';

export interface CountReaderOptions {
  /** Near cache bound in ms (see NearCache); 0 reads the shared cache every time. */
  readonly nearCacheMs: number;
  /** Most counts the near cache keeps. */
  readonly nearCacheEntries: number;
  /** Monotonic milliseconds (tests). */
  readonly clock?: () => number;
}

/**
 * The read path: the near cache (when enabled), then the shared cache, misses from the counter
 * store, which then fill the cache.
 */
export class CountReader {
  readonly #cache: CountCache;
  readonly #store: CounterStore;
  readonly #near: NearCache | undefined;

  constructor(cache: CountCache, store: CounterStore, options: CountReaderOptions = { nearCacheMs: 0, nearCacheEntries: 0 }) {
    this.#cache = cache;
    this.#store = store;
    this.#near =
      options.nearCacheMs > 0
        ? new NearCache(
            (postIds) => this.#readThrough(postIds),
            (postIds) => this.#readStore(postIds),
            { boundMs: options.nearCacheMs, maxEntries: options.nearCacheEntries, ...(options.clock ? { clock: options.clock } : {}) },
          )
        : undefined;
  }

  /** Counts of the given posts; a post never liked counts 0. */
  counts(postIds: readonly string[]): Promise<Map<string, number>> {
    return this.#near === undefined ? this.#readThrough(postIds) : this.#near.counts(postIds);
  }

  /**
   * A write to these posts is applied (a `?wait=applied` answer is about to go out): this
   * process's later reads of them include it, whatever the near cache or the shared cache held.
   */
  written(postIds: Iterable<string>): void {
    this.#near?.written(postIds);
  }

  async #readThrough(postIds: readonly string[]): Promise<Map<string, number>> {
    const hits = await this.#cache.getMany(postIds);
    const result = new Map<string, number>();
    const misses: string[] = [];
    for (const postId of postIds) {
      const hit = hits.get(postId);
      if (hit === undefined) misses.push(postId);
      else result.set(postId, hit.count);
    }
    if (misses.length > 0) {
      const stored = await this.#readStore(misses);
      for (const [postId, count] of stored) result.set(postId, count);
    }
    return result;
  }

  /** From the counter store (the counts a `?wait=applied` waited for), filling the cache (set-if-newer). */
  async #readStore(postIds: readonly string[]): Promise<Map<string, number>> {
    const stored = await this.#store.getMany(postIds);
    // Posts never liked are cached as version 0, so the counter's first write supersedes them.
    const fills = postIds.map((postId) => stored.get(postId) ?? { postId, count: 0, version: 0 });
    await this.#cache.setMany(fills);
    return new Map(postIds.map((postId) => [postId, stored.get(postId)?.count ?? 0]));
  }
}
