import type { Lifecycle } from './lifecycle.ts';
import type { VersionedCount } from './counter-store.ts';

/** Hot counts for reads. A miss is not an error: the read path falls back to the counter store. */
export interface CountCache extends Lifecycle {
  /**
   * The cached entry of each post, aligned with `postIds` (undefined: not cached). An array, not a
   * map: a batch read of 50 posts then builds nothing keyed by id on its way to the reply.
   */
  getMany(postIds: readonly string[]): Promise<(VersionedCount | undefined)[]>;
  /** Stores each entry unless the cache already holds a newer version of that post. */
  setMany(entries: readonly VersionedCount[]): Promise<void>;
}
