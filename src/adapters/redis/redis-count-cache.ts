import type { Redis } from 'ioredis';
import { TallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CountCache } from '../../ports/count-cache.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';
import { closeRedis, openRedis, redisUnavailable } from './redis-client.ts';

export interface RedisCountCacheOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prefix of the keys, so tenants and tests do not collide. */
  readonly namespace: string;
  /** Lifetime of an entry after its last write, keeping the cache bounded; default 1 day. */
  readonly ttlSeconds?: number;
  /** A command not answered within this time fails; default 1000 ms. */
  readonly commandTimeoutMs?: number;
  readonly log?: Logger;
}

/** The subset of the ioredis client this cache uses (the script is defined in `init`). */
interface CacheClient {
  mget(keys: string[]): Promise<(string | null)[]>;
  setCountsIfNewer(numKeys: number, ...args: string[]): Promise<number>;
}

/**
 * Set-if-newer for many entries in one script run. KEYS are the count keys; ARGV[1] is the TTL
 * in seconds, then for each key its version and its count. A key is written (with the TTL) only
 * when it is absent or holds a lower version. Versions and counts stay below 2^53, so Lua's
 * doubles compare them exactly; the stored value is built from the argument strings unchanged.
 */
const SET_IF_NEWER = `
local ttl = ARGV[1]
local written = 0
for i, key in ipairs(KEYS) do
  local version = ARGV[2 * i]
  local current = redis.call('GET', key)
  local stored = current and tonumber(string.match(current, '^(%d+):'))
  if not stored or stored < tonumber(version) then
    redis.call('SET', key, version .. ':' .. ARGV[2 * i + 1], 'EX', ttl)
    written = written + 1
  end
end
return written
`;

/** Keys per script call: bounds how long one call holds Redis; calls of one tick are pipelined. */
const ENTRIES_PER_CALL = 256;

/**
 * The shared count cache on Redis. Each post is one string key `${namespace}:count:${postId}`
 * holding `version:count` (e.g. `42:1337`), so `redis-cli GET tally:count:p1` shows it. Writes
 * go through a set-if-newer Lua script (EVALSHA, loaded once), so a slow writer never replaces
 * a newer count; reads are one MGET. Auto-pipelining batches the commands of one tick.
 *
 * Failures: a Redis that cannot be reached (or does not answer within `commandTimeoutMs`) makes
 * `getMany` and `setMany` throw a retriable `backend_unavailable`. The caller decides: the read
 * path can treat it as all-miss and read the counter store, the counter can skip the cache write
 * (the next write of the post, or the TTL, heals it).
 */
export class RedisCountCache implements CountCache {
  readonly #options: RedisCountCacheOptions;
  readonly #prefix: string;
  readonly #ttl: string;
  #redis: Redis | undefined;
  #client: CacheClient | undefined;

  constructor(options: RedisCountCacheOptions) {
    const ttl = options.ttlSeconds ?? 86_400;
    if (!Number.isInteger(ttl) || ttl < 1) throw new TallyError('invalid_option', `ttlSeconds must be a positive integer, got ${ttl}`);
    this.#options = options;
    this.#prefix = `${options.namespace}:count:`;
    this.#ttl = String(ttl);
  }

  /** The key of a post's entry (for operators and tests). */
  keyOf(postId: string): string {
    return this.#prefix + postId;
  }

  async init(): Promise<void> {
    const redis = await openRedis({
      url: this.#options.url,
      role: 'cache',
      commandTimeoutMs: this.#options.commandTimeoutMs ?? 1_000,
      scripts: { setCountsIfNewer: { lua: SET_IF_NEWER } },
      log: this.#options.log,
    });
    this.#redis = redis;
    this.#client = redis as unknown as CacheClient;
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    this.#client = undefined;
    await closeRedis(redis);
  }

  async getMany(postIds: readonly string[]): Promise<(VersionedCount | undefined)[]> {
    if (postIds.length === 0) return [];
    const values = await this.#run('reading counts', (c) => c.mget(postIds.map((id) => this.#prefix + id)));
    return postIds.map((postId, i) => parseEntry(postId, values[i] ?? null));
  }

  async setMany(entries: readonly VersionedCount[]): Promise<void> {
    if (entries.length === 0) return;
    const calls: Promise<number>[] = [];
    for (let start = 0; start < entries.length; start += ENTRIES_PER_CALL) {
      const chunk = entries.slice(start, start + ENTRIES_PER_CALL);
      const args: string[] = chunk.map((e) => this.#prefix + e.postId);
      args.push(this.#ttl);
      for (const e of chunk) args.push(String(e.version), String(e.count));
      calls.push(this.#run('writing counts', (c) => c.setCountsIfNewer(chunk.length, ...args)));
    }
    await Promise.all(calls);
  }

  async #run<T>(what: string, command: (client: CacheClient) => Promise<T>): Promise<T> {
    const client = this.#client;
    if (client === undefined) throw new TallyError('not_ready', 'the Redis count cache is not initialised', { retriable: true });
    try {
      return await command(client);
    } catch (error) {
      throw redisUnavailable(what, error);
    }
  }
}

function parseEntry(postId: string, value: string | null): VersionedCount | undefined {
  if (value === null) return undefined;
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const version = Number(value.slice(0, colon));
  const count = Number(value.slice(colon + 1));
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(count)) return undefined;
  return { postId, count, version };
}

