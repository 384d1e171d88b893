import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { CountCache } from '../../ports/count-cache.ts';
import type { CounterStore } from '../../ports/counter-store.ts';
import { NearCache } from './near-cache.ts';

/** Where a reader reports a backend it read around. */
export interface ReadDegradation {
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** At most one log line per backend per this many ms (default 10 s). */
  readonly logEveryMs?: number;
}

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
 * store, which then fill the cache. A cache that fails is read around (every post is then a miss
 * served by the counter store); a counter store that fails makes misses fail (503), while hits
 * are still served, flagged as possibly stale until the store answers again.
 */
export class CountReader {
  readonly #cache: CountCache;
  readonly #store: CounterStore;
  readonly #near: NearCache | undefined;
  readonly #degradation: ReadDegradation;
  readonly #lastLog = new Map<string, number>();
  #storeFailing = false;

  constructor(cache: CountCache, store: CounterStore, options: CountReaderOptions = { nearCacheMs: 0, nearCacheEntries: 0 }, degradation: ReadDegradation = {}) {
    this.#cache = cache;
    this.#store = store;
    this.#degradation = degradation;
    this.#near =
      options.nearCacheMs > 0
        ? new NearCache(
            (postIds) => this.#readThrough(postIds),
            (postIds) => this.#readStore(postIds),
            { boundMs: options.nearCacheMs, maxEntries: options.nearCacheEntries, ...(options.clock ? { clock: options.clock } : {}) },
          )
        : undefined;
  }

  /** Counts of the given posts, aligned with `postIds`; a post never liked counts 0. */
  async counts(postIds: readonly string[]): Promise<number[]> {
    if (this.#near === undefined) return this.#readAligned(postIds);
    const counts = await this.#near.counts(postIds);
    return postIds.map((postId) => counts.get(postId) ?? 0);
  }

  /**
   * A write to these posts is applied (a `?wait=applied` answer is about to go out): this
   * process's later reads of them include it, whatever the near cache or the shared cache held.
   */
  /** A write to posts not named was applied (a user's erasure): the near cache serves nothing older. */
  writtenAll(): void {
    this.#near?.writtenAll();
  }

  written(postIds: Iterable<string>): void {
    this.#near?.written(postIds);
  }

  /**
   * True while the counter store's last read failed: counts then come from the cache only, which
   * the counter (writing through the same store) may have stopped refreshing.
   */
  get maybeStale(): boolean {
    return this.#storeFailing;
  }

  /** The near cache's loader: the same read, keyed by post. */
  async #readThrough(postIds: readonly string[]): Promise<Map<string, number>> {
    const counts = await this.#readAligned(postIds);
    return new Map(postIds.map((postId, i) => [postId, counts[i] ?? 0]));
  }

  async #readAligned(postIds: readonly string[]): Promise<number[]> {
    const hits = await this.#cache.getMany(postIds).catch((error: unknown) => {
      this.#degraded('cache', error);
      return [];
    });
    const counts: number[] = [];
    let misses: string[] | undefined;
    for (let i = 0; i < postIds.length; i++) {
      const hit = hits[i];
      if (hit !== undefined) counts.push(hit.count);
      else {
        counts.push(0);
        (misses ??= []).push(postIds[i] as string);
      }
    }
    if (misses !== undefined) {
      const stored = await this.#readStore(misses);
      for (let i = 0; i < postIds.length; i++) if (hits[i] === undefined) counts[i] = stored.get(postIds[i] as string) ?? 0;
    }
    return counts;
  }

  /** From the counter store (the counts a `?wait=applied` waited for), filling the cache (set-if-newer). */
  async #readStore(postIds: readonly string[]): Promise<Map<string, number>> {
    let stored;
    try {
      stored = await this.#store.getMany(postIds);
      this.#storeFailing = false;
    } catch (error) {
      this.#storeFailing = true;
      this.#degraded('counter store', error);
      throw error;
    }
    // Posts never liked are cached as version 0, so the counter's first write supersedes them.
    const fills = postIds.map((postId) => stored.get(postId) ?? { postId, count: 0, version: 0 });
    await this.#cache.setMany(fills).catch((error: unknown) => this.#degraded('cache', error));
    return new Map(postIds.map((postId) => [postId, stored.get(postId)?.count ?? 0]));
  }

  /** Counts a read around a failed backend, and says so in the log at most once per interval. */
  #degraded(backend: 'cache' | 'counter store', error: unknown): void {
    this.#degradation.metrics?.readsDegraded.inc({ backend });
    const now = Date.now();
    if (now - (this.#lastLog.get(backend) ?? Number.NEGATIVE_INFINITY) < (this.#degradation.logEveryMs ?? 10_000)) return;
    this.#lastLog.set(backend, now);
    this.#degradation.log?.warn(
      { err: error, backend },
      backend === 'cache' ? 'count cache unreachable: reading counts from the counter store' : 'counter store unreachable: serving cached counts only (Tally-Stale: true), misses get 503',
    );
  }
}
