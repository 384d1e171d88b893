import type { Redis } from 'ioredis';
import { TallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CountListener, CountNotifier, CountSubscription } from '../../ports/count-notifier.ts';
import type { VersionedCount } from '../../ports/counter-store.ts';
import { closeRedis, openRedis, redisUnavailable } from './redis-client.ts';

export interface RedisCountNotifierOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prefix of the channel, so tenants and tests do not collide. */
  readonly namespace: string;
  /** A publish not answered within this time fails; default 1000 ms. */
  readonly commandTimeoutMs?: number;
  readonly log?: Logger;
}

/** Entries per PUBLISH: bounds one message (~100 bytes an entry). */
const ENTRIES_PER_MESSAGE = 1000;

/**
 * Count changes on Redis pub/sub, channel `${namespace}:counts`. A message is the changed counts
 * as `postId version count` entries joined by `,` (ids never hold a space or a comma), so
 * `redis-cli SUBSCRIBE tally:counts` shows them. Publishing uses one connection, subscribing a
 * second one (a subscribed connection takes no other command), named `<namespace>-counts-sub` in
 * `CLIENT LIST`.
 *
 * Failures: pub/sub keeps nothing for a subscriber that is away. When the subscriber's connection
 * comes back (Redis restarted, a network cut), it subscribes again and only then tells every
 * listener to `resync`, so they read the current values and nothing published meanwhile is
 * missed. A publish while Redis is down throws a retriable `backend_unavailable`; the counter
 * keeps those counts and publishes them with its next write.
 */
export class RedisCountNotifier implements CountNotifier {
  readonly #options: RedisCountNotifierOptions;
  readonly #channel: string;
  readonly #listeners = new Set<CountListener>();
  #pub: Redis | undefined;
  #sub: Redis | undefined;
  #subscribing: Promise<void> | undefined;

  constructor(options: RedisCountNotifierOptions) {
    this.#options = options;
    this.#channel = `${options.namespace}:counts`;
  }

  /** The pub/sub channel (for operators and tests). */
  get channel(): string {
    return this.#channel;
  }

  async init(): Promise<void> {
    const log = this.#options.log;
    const pub = await openRedis({ url: this.#options.url, role: 'notifier', commandTimeoutMs: this.#options.commandTimeoutMs ?? 1_000, log });
    let opened: Redis | undefined;
    try {
      opened = await openRedis({
        url: this.#options.url,
        role: 'notifier',
        autoPipelining: false,
        autoResubscribe: false,
        retriesPerRequest: null,
        connectionName: `${this.#options.namespace}-counts-sub`,
        log,
      });
      await opened.subscribe(this.#channel);
    } catch (error) {
      pub.disconnect();
      opened?.disconnect();
      throw redisUnavailable('connecting', error);
    }
    const sub = opened;
    sub.on('message', (_channel: string, message: string) => this.#deliver(message));
    // Registered after the first connection is ready: every later `ready` is a reconnection.
    sub.on('ready', () => {
      this.#subscribing = sub
        .subscribe(this.#channel)
        .then(() => {
          this.#options.log?.info({ channel: this.#channel }, 'redis notifier: subscribed again; listeners resync');
          for (const listener of this.#listeners) listener.resync();
        })
        .catch((error: unknown) => this.#options.log?.warn({ err: error }, 'redis notifier: subscribing again failed; retried on the next reconnect'));
    });
    this.#pub = pub;
    this.#sub = sub;
  }

  async close(): Promise<void> {
    const clients = [this.#pub, this.#sub];
    this.#pub = undefined;
    this.#sub = undefined;
    this.#listeners.clear();
    await this.#subscribing?.catch(() => undefined);
    for (const client of clients) await closeRedis(client);
  }

  async publish(counts: readonly VersionedCount[]): Promise<void> {
    if (counts.length === 0) return;
    const pub = this.#pub;
    if (pub === undefined) throw new TallyError('not_ready', 'the Redis count notifier is not initialised', { retriable: true });
    const sends: Promise<number>[] = [];
    for (let start = 0; start < counts.length; start += ENTRIES_PER_MESSAGE) {
      const message = counts
        .slice(start, start + ENTRIES_PER_MESSAGE)
        .map((c) => `${c.postId} ${c.version} ${c.count}`)
        .join(',');
      sends.push(pub.publish(this.#channel, message));
    }
    try {
      await Promise.all(sends);
    } catch (error) {
      throw redisUnavailable('publishing counts', error);
    }
  }

  subscribe(listener: CountListener): CountSubscription {
    this.#listeners.add(listener);
    return { close: () => this.#listeners.delete(listener) };
  }

  #deliver(message: string): void {
    const counts: VersionedCount[] = [];
    for (const entry of message.split(',')) {
      const [postId, version, count] = entry.split(' ');
      if (postId === undefined || version === undefined || count === undefined) continue;
      const v = Number(version);
      const c = Number(count);
      if (Number.isSafeInteger(v) && Number.isSafeInteger(c)) counts.push({ postId, version: v, count: c });
    }
    if (counts.length === 0) return;
    for (const listener of this.#listeners) listener.changed(counts);
  }
}

