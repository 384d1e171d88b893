import { Redis } from 'ioredis';
import { TallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';

/**
 * The one place where Redis clients are opened and closed: every adapter of this folder gets its
 * connections here, so reconnection, timeouts and error handling are set alike.
 */

/** A Lua script run as a named command (ioredis `defineCommand`). */
export interface RedisScript {
  readonly lua: string;
  /** Leading arguments that are keys; omit when the caller passes the count first. */
  readonly numberOfKeys?: number;
}

export interface OpenRedisOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Named in log lines: `cache`, `notifier`... */
  readonly role: string;
  /** A command not answered within this time fails; none when absent. */
  readonly commandTimeoutMs?: number;
  /**
   * Reconnection attempts a command waits for before it fails: 1 (the default) fails fast while
   * Redis is away; `null` waits for as long as it takes (a subscriber connection).
   */
  readonly retriesPerRequest?: number | null;
  /** Shown by `CLIENT LIST`. */
  readonly connectionName?: string;
  /** Batches the commands of one tick into one write (default true). */
  readonly autoPipelining?: boolean;
  /** Whether ioredis subscribes again by itself after a reconnection (default true). */
  readonly autoResubscribe?: boolean;
  /** Scripts defined before the connection opens. */
  readonly scripts?: Readonly<Record<string, RedisScript>>;
  readonly log?: Logger;
}

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opens a connection and waits until it is ready. Connection errors are logged (at debug: the
 * failing command reports them) instead of crashing the process, and a lost connection is
 * reopened every 50 ms to 1 s. A Redis that cannot be reached fails as `backend_unavailable`.
 */
export async function openRedis(options: OpenRedisOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
    enableAutoPipelining: options.autoPipelining ?? true,
    maxRetriesPerRequest: options.retriesPerRequest === undefined ? 1 : options.retriesPerRequest,
    autoResubscribe: options.autoResubscribe ?? true,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  });
  redis.on('error', (error: Error) => options.log?.debug({ err: error }, `redis ${options.role}: connection error`));
  for (const [name, script] of Object.entries(options.scripts ?? {})) redis.defineCommand(name, script);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw redisUnavailable('connecting', error);
  }
  return redis;
}

/** Closes a connection politely (QUIT), or drops it when Redis does not answer. */
export async function closeRedis(redis: Redis | undefined): Promise<void> {
  if (redis === undefined) return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** Wraps a client failure as a retriable `backend_unavailable`, keeping the cause. */
export function redisUnavailable(what: string, cause: unknown): TallyError {
  if (cause instanceof TallyError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TallyError('backend_unavailable', `Redis: ${what} failed: ${detail}`, { cause, retriable: true });
}
