import type { BucketAnswer, BucketLimit, TokenBuckets } from '../../ports/token-buckets.ts';
import { forgetOldest, tenthOf } from '../../domain/bounded-map.ts';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets in this process's memory (embedded mode). At most `maxKeys` buckets are kept; the
 * oldest created is forgotten first, which at worst hands that key a full bucket again. A bucket is
 * updated in place: moving a key to the end of a large Map on every take (an LRU) cost ~50 µs per
 * take at 20,000 keys, from V8 rehashing the table.
 */
export class MemoryTokenBuckets implements TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(options: { readonly maxKeys?: number; readonly now?: () => number } = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {
    this.#buckets.clear();
  }

  async take(key: string, limit: BucketLimit): Promise<BucketAnswer> {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) forgetOldest(this.#buckets, tenthOf(this.#maxKeys));
      bucket = { tokens: limit.burst, at: now };
      this.#buckets.set(key, bucket);
    }
    let tokens = Math.min(limit.burst, bucket.tokens + (Math.max(0, now - bucket.at) * limit.perSecond) / 1000);
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    bucket.tokens = tokens;
    bucket.at = now;
    return { allowed, remaining: Math.floor(tokens), retryAfterMs: allowed ? 0 : Math.ceil(((1 - tokens) * 1000) / limit.perSecond) };
  }
}
