import type { Lifecycle } from './lifecycle.ts';

/** The refill rate and the capacity of one kind of bucket. */
export interface BucketLimit {
  /** Tokens added per second (may be fractional). */
  readonly perSecond: number;
  /** Most tokens a bucket holds: the burst allowed after a quiet spell. */
  readonly burst: number;
}

/** What taking one token answered. */
export interface BucketAnswer {
  /** True when a token was taken: the request may proceed. */
  readonly allowed: boolean;
  /** Whole tokens left after this take. */
  readonly remaining: number;
  /** When refused: ms until a token is available; else 0. */
  readonly retryAfterMs: number;
}

/**
 * Token buckets by key (rate limits). `take` refills the bucket for the time elapsed since its
 * last use, then takes one token if there is one. Buckets that stay full hold no state: an
 * adapter may forget them. The distributed adapter shares the buckets between processes.
 */
export interface TokenBuckets extends Lifecycle {
  take(key: string, limit: BucketLimit): Promise<BucketAnswer>;
}
