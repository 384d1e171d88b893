import type { Redis } from 'ioredis';
import { TallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { BucketAnswer, BucketLimit, TokenBuckets } from '../../ports/token-buckets.ts';
import { closeRedis, openRedis, redisUnavailable } from './redis-client.ts';

export interface RedisTokenBucketsOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prefix of the keys: `${namespace}:rl:${key}`. */
  readonly namespace: string;
  /** A command not answered within this time fails; default 500 ms. */
  readonly commandTimeoutMs?: number;
  readonly log?: Logger;
}

/** The subset of the ioredis client this adapter uses (the script is defined in `init`). */
interface BucketClient {
  takeToken(key: string, perSecond: string, burst: string): Promise<[number, number, number]>;
}

/**
 * One token bucket per key, as a hash {tk: tokens, ts: ms} refilled and taken from atomically in
 * one script run. The clock is Redis's own (TIME), so api processes whose clocks differ still
 * share one rate. The key expires once the bucket would be full again: idle buckets cost nothing.
 * Returns {allowed 0|1, whole tokens left, ms until the next token when refused}.
 */
const TAKE = `
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tk', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {allowed, math.floor(tokens), wait}
`;

/** Token buckets in Redis (distributed mode): a limit holds across every api process of a namespace. */
export class RedisTokenBuckets implements TokenBuckets {
  readonly #options: RedisTokenBucketsOptions;
  readonly #prefix: string;
  #redis: Redis | undefined;
  #client: BucketClient | undefined;

  constructor(options: RedisTokenBucketsOptions) {
    this.#options = options;
    this.#prefix = `${options.namespace}:rl:`;
  }

  async init(): Promise<void> {
    const redis = await openRedis({
      url: this.#options.url,
      role: 'rate limits',
      commandTimeoutMs: this.#options.commandTimeoutMs ?? 500,
      scripts: { takeToken: { numberOfKeys: 1, lua: TAKE } },
      log: this.#options.log,
    });
    this.#redis = redis;
    this.#client = redis as unknown as BucketClient;
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    this.#client = undefined;
    await closeRedis(redis);
  }

  async take(key: string, limit: BucketLimit): Promise<BucketAnswer> {
    const client = this.#client;
    if (client === undefined) throw new TallyError('not_ready', 'the Redis token buckets are not initialised', { retriable: true });
    try {
      const [allowed, remaining, wait] = await client.takeToken(this.#prefix + key, String(limit.perSecond), String(limit.burst));
      return { allowed: allowed === 1, remaining, retryAfterMs: wait };
    } catch (error) {
      throw redisUnavailable('taking a rate-limit token', error);
    }
  }
}

