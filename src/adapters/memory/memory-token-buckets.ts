import type { BucketAnswer, BucketLimit, TokenBuckets } from '../../ports/token-buckets.ts';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets in this process's memory (embedded mode). At most `maxKeys` buckets are kept; the
 * least recently used is forgotten first, which at worst hands that key a full bucket again.
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
    const bucket = this.#buckets.get(key);
    let tokens = limit.burst;
    if (bucket !== undefined) {
      tokens = Math.min(limit.burst, bucket.tokens + (Math.max(0, now - bucket.at) * limit.perSecond) / 1000);
      this.#buckets.delete(key);
    } else if (this.#buckets.size >= this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    this.#buckets.set(key, { tokens, at: now });
    return { allowed, remaining: Math.floor(tokens), retryAfterMs: allowed ? 0 : Math.ceil(((1 - tokens) * 1000) / limit.perSecond) };
  }
}
