import type { Lifecycle } from './lifecycle.ts';
import type { VersionedCount } from './counter-store.ts';

/** Hot counts for reads. A miss is not an error: the read path falls back to the counter store. */
export interface CountCache extends Lifecycle {
  /** The cached entries among the given posts. */
  getMany(postIds: readonly string[]): Promise<Map<string, VersionedCount>>;
  /** Stores each entry unless the cache already holds a newer version of that post. */
  setMany(entries: readonly VersionedCount[]): Promise<void>;
}
