import type { CountCache } from '../../ports/count-cache.ts';
import type { CounterStore, VersionedCount } from '../../ports/counter-store.ts';

/**
 * Current counts with their versions: the cache first, misses (or a cache that fails) from the
 * counter store; a post never liked is `{count: 0, version: 0}`.
 */
export function versionedCounts(cache: CountCache, store: CounterStore) {
  return async (postIds: readonly string[]): Promise<Map<string, VersionedCount>> => {
    const cached = await cache.getMany(postIds).catch(() => []);
    const misses = postIds.filter((_, i) => cached[i] === undefined);
    const stored = misses.length > 0 ? await store.getMany(misses) : undefined;
    return new Map(postIds.map((postId, i) => [postId, cached[i] ?? stored?.get(postId) ?? { postId, count: 0, version: 0 }]));
  };
}
