import type { CountCache } from '../../ports/count-cache.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';
import { forgetOldest, tenthOf } from '../../domain/bounded-map.ts';

export interface MemoryCountCacheOptions {
  /** Entries kept; beyond it the tenth cached first is evicted. */
  readonly maxEntries: number;
}

/** The embedded count cache: a bounded in-process map with set-if-newer writes. */
export class MemoryCountCache implements CountCache {
  readonly #entries = new Map<string, VersionedCount>();
  readonly #maxEntries: number;

  constructor(options: MemoryCountCacheOptions) {
    this.#maxEntries = Math.max(1, options.maxEntries);
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  async getMany(postIds: readonly string[]): Promise<(VersionedCount | undefined)[]> {
    return postIds.map((postId) => this.#entries.get(postId));
  }

  async setMany(entries: readonly VersionedCount[]): Promise<void> {
    for (const entry of entries) {
      const current = this.#entries.get(entry.postId);
      if (current !== undefined && current.version >= entry.version) continue;
      // In place: moving the key to the back (delete, then set) cost ~10× as much per count change
      // on the api thread. So eviction drops the entries cached first, a hot post's among them now
      // and then; its next read misses once and reads the store.
      this.#entries.set(entry.postId, entry);
    }
    if (this.#entries.size > this.#maxEntries) this.#evict();
  }

  #evict(): void {
    forgetOldest(this.#entries, Math.max(tenthOf(this.#maxEntries), this.#entries.size - this.#maxEntries));
  }
}
