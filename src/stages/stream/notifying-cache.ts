import type { CountCache } from '../../ports/count-cache.ts';
import type { CountNotifier } from '../../ports/count-notifier.ts';

/**
 * The counter's view of the cache: every write is then published on the notifier, so live
 * streams hear of it. A failed publish fails the write, which the counter keeps and retries
 * with its next batch (as it does when the cache write fails).
 */
export function notifyingCache(cache: CountCache, notifier: CountNotifier): CountCache {
  return {
    init: () => cache.init(),
    close: () => cache.close(),
    getMany: (postIds) => cache.getMany(postIds),
    setMany: async (entries) => {
      await cache.setMany(entries);
      await notifier.publish(entries);
    },
  };
}
