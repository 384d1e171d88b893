import type { CountCache } from '../../ports/count-cache.ts';
import type { CounterStore, VersionedCount } from '../../ports/counter-store.ts';

/**
 * Current counts with their versions: the cache first, misses (or a cache that fails) from the
 * counter store; a post never liked is `{count: 0, version: 0}`.
 */
export function versionedCounts(cache: CountCache, store: CounterStore) {
  return async (postIds: readonly string[]): Promise<Map<string, VersionedCount>> => {
    const cached = await cache.getMany(postIds).catch(() => postIds.map(() => undefined));
    const counts = new Map<string, VersionedCount>();
    const misses: string[] = [];
    postIds.forEach((postId, i) => {
      const hit = cached[i];
      if (hit === undefined) misses.push(postId);
      else counts.set(postId, hit);
    });
    if (misses.length > 0) {
      const stored = await store.getMany(misses);
      for (const postId of misses) counts.set(postId, stored.get(postId) ?? { postId, count: 0, version: 0 });
    }
    return counts;
  };
}
