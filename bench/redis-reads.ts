import { Redis } from 'ioredis';

/**
 * Keys Redis looked up (`keyspace_hits + keyspace_misses` of `INFO stats`: an MGET of 50 keys is
 * 50), for the Redis reads a read phase cost. Redis is the whole server's: other clients of a
 * shared server add to it.
 */
export class RedisReads {
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  async lookups(): Promise<number> {
    if (this.#redis.status === 'wait') await this.#redis.connect();
    const info = await this.#redis.info('stats');
    const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    return field('keyspace_hits') + field('keyspace_misses');
  }

  /** Runs `work` and returns its result with the Redis lookups per second it took. */
  async measure<T extends { readonly seconds: number }>(work: () => Promise<T>): Promise<{ result: T; perSec: number }> {
    const before = await this.lookups();
    const result = await work();
    const after = await this.lookups();
    return { result, perSec: Math.round((after - before) / Math.max(0.001, result.seconds)) };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

/** The Redis URL a distributed target uses: `--redis-url` among its options, else TALLY_REDIS_URL, else the default. */
export function redisUrlOf(serveArgs: readonly string[]): string {
  for (let i = 0; i < serveArgs.length; i++) {
    const arg = serveArgs[i] as string;
    if (arg.startsWith('--redis-url=')) return arg.slice('--redis-url='.length);
    if (arg === '--redis-url' && serveArgs[i + 1] !== undefined) return serveArgs[i + 1] as string;
  }
  return process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379';
}
