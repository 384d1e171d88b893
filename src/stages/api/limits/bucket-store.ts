import type { Logger } from '../../../observability/logger.ts';
import type { TokenBuckets } from '../../../ports/token-buckets.ts';

/** The store protocol of @fastify/rate-limit (its `FastifyRateLimitStore`), as used here. */
interface RateLimitStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(): RateLimitStore;
}

/**
 * A @fastify/rate-limit store over {@link TokenBuckets}: the plugin's `max` is the burst and
 * `timeWindow` the ms to refill it, so `max / timeWindow` is the rate. A refused take answers
 * `current = max + 1` and `ttl` = ms until the next token (the plugin's Retry-After). A bucket
 * backend that fails lets the request through (logged, at most every 10 s): a Redis outage must
 * not refuse every write.
 */
export function bucketStore(buckets: TokenBuckets, log: Logger): new () => RateLimitStore {
  let warnedAt = 0;
  class BucketStore implements RateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void {
      buckets.take(key, { burst: max, perSecond: (max * 1000) / Math.max(1, timeWindow) }).then(
        (answer) => callback(null, answer.allowed ? { current: max - answer.remaining, ttl: 0 } : { current: max + 1, ttl: answer.retryAfterMs }),
        (error: unknown) => {
          if (Date.now() - warnedAt > 10_000) {
            warnedAt = Date.now();
            log.warn({ err: error }, 'rate limits: the token buckets failed; letting requests through');
          }
          callback(null, { current: 0, ttl: 0 });
        },
      );
    }

    child(): RateLimitStore {
      return this;
    }
  }
  return BucketStore;
}
