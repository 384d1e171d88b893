// A counter killed after its counter-store commit but before its cache write (issue 11, bug 3):
// the counts it committed existed only in its memory, so the cache kept the count from before
// until the post changed again. The next counter must repair them when it takes the partitions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { KafkaChangeFeed } from '../../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import { MemoryCountCache } from '../../../src/adapters/memory/memory-count-cache.ts';
import { PgCounterStore } from '../../../src/adapters/postgres/pg-counter-store.ts';
import { RedisCountCache } from '../../../src/adapters/redis/redis-count-cache.ts';
import { openSqliteAdapters } from '../../../src/composition/sqlite-adapters.ts';
import type { Change } from '../../../src/domain/change.ts';
import type { ChangeFeed } from '../../../src/ports/change-feed.ts';
import type { CounterStore } from '../../../src/ports/counter-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { CountCache } from '../../../src/ports/count-cache.ts';
import type { VersionedCount } from '../../../src/ports/counter-store.ts';
import { CounterStep } from '../../../src/stages/counter/counter-stage.ts';
import { SERVERS } from '../../helpers/distributed-namespace.ts';
import { testOptions } from '../../helpers/embedded-app.ts';
import { eventually, uniqueName } from '../../helpers/wait.ts';
import { BROKERS, kafkaNamespace, TEST_TIMINGS } from '../../adapters/kafka/kafka-test-kit.ts';
import { namespaceFor, PG_URL } from '../../adapters/postgres/pg-fixture.ts';

const OPTIONS = { group: 'counter', maxChanges: 8, maxWaitMs: 0, idleMs: 50 };

/**
 * The shared cache as seen by a counter that dies right before writing `count` for `post`: that
 * write (and any after it) never happens; writes before it go through.
 */
class DiesBeforeWriting implements CountCache {
  readonly #cache: CountCache;
  readonly #post: string;
  readonly #count: number;
  #dead = false;

  constructor(cache: CountCache, post: string, count: number) {
    this.#cache = cache;
    this.#post = post;
    this.#count = count;
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {}
  getMany(postIds: readonly string[]): Promise<(VersionedCount | undefined)[]> {
    return this.#cache.getMany(postIds);
  }
  async setMany(entries: readonly VersionedCount[]): Promise<void> {
    this.#dead ||= entries.some((e) => e.postId === this.#post && e.count === this.#count);
    if (this.#dead) throw new Error('killed between the store commit and the cache write');
    await this.#cache.setMany(entries);
  }
}

/** A change feed, the counter store it is counted into, the shared cache, and a way to add likes. */
interface Backend {
  readonly feed: ChangeFeed;
  readonly counters: CounterStore;
  readonly cache: CountCache;
  /** Adds likes of `post` by users `u<n>` to the feed. */
  like(post: string, users: readonly number[]): Promise<void>;
}

function counter(backend: Backend, cache: CountCache, metrics: Metrics): CounterStep {
  return new CounterStep({ feed: backend.feed, store: backend.counters, cache, metrics, log: createLogger('silent') }, OPTIONS);
}

async function cachedCount(cache: CountCache, post: string): Promise<number | undefined> {
  return (await cache.getMany([post]))[0]?.count;
}

/** Steps the counter until the cache holds `count` for `post`. */
async function countUntilCached(step: CounterStep, cache: CountCache, post: string, count: number): Promise<void> {
  await eventually(`the cache holds ${count} for ${post}`, 30_000, async () => {
    await step.step();
    return (await cachedCount(cache, post)) === count ? true : undefined;
  }, 0);
}

async function diesBetweenCommitAndCacheWrite(backend: Backend): Promise<void> {
  const { cache, counters } = backend;
  const metrics = new Metrics({ defaultMetrics: false });

  // A first counter counts two likes of each post and writes them to the cache.
  await backend.like('p1', [1, 2]);
  await backend.like('p2', [1, 2]);
  const first = counter(backend, cache, metrics);
  await first.open();
  await countUntilCached(first, cache, 'p2', 2);
  assert.equal(await cachedCount(cache, 'p1'), 2);
  await first.close();

  // Two more likes of p1 and one of p2; the second counter commits them, then "dies" before the cache write.
  await backend.like('p1', [3, 4]);
  await backend.like('p2', [3]);
  const dying = counter(backend, new DiesBeforeWriting(cache, 'p1', 4), metrics);
  await dying.open();
  await assert.rejects(async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) await dying.step();
  }, /killed between the store commit and the cache write/);
  await dying.close();
  assert.equal((await counters.getMany(['p1'])).get('p1')?.count, 4, 'the store committed the batch');
  assert.equal(await cachedCount(cache, 'p1'), 2, 'the cache still holds the count from before');

  // The next counter has nothing new to count, yet must leave the cache equal to the store.
  const next = counter(backend, cache, metrics);
  await next.open();
  await countUntilCached(next, cache, 'p1', 4);
  await countUntilCached(next, cache, 'p2', 3);
  assert.equal((await metrics.duplicatesSkipped.get()).values[0]?.value ?? 0, 0, 're-read changes are not reported as duplicates');
  const stored = await counters.getMany(['p1', 'p2']);
  assert.deepEqual([stored.get('p1')?.count, stored.get('p2')?.count], [4, 3], 'nothing was counted twice');
  await next.close();
}

test('embedded: a counter that dies between store commit and cache write leaves no stale count behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-cache-repair-'));
  const adapters = openSqliteAdapters(testOptions({ dataDir: dir, partitions: 1 }), 'all');
  await adapters.init();
  const cache = new MemoryCountCache({ maxEntries: 1000 });
  await cache.init();
  t.after(async () => {
    await adapters.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await diesBetweenCommitAndCacheWrite({
    feed: adapters.feed,
    counters: adapters.counters,
    cache,
    like: async (post, users) => void (await adapters.likes.apply(users.map((u) => ({ op: 'like', postId: post, userId: `u${u}`, at: Date.now() })))),
  });
});

test('distributed (Kafka, PostgreSQL, Redis): a counter that dies between store commit and cache write leaves no stale count behind', async (t: TestContext) => {
  const namespace = kafkaNamespace(t);
  const pg = await namespaceFor(t);
  const partitions = 3;
  const publisher = new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions });
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions, groupTimings: TEST_TIMINGS });
  const counters = pg.track(new PgCounterStore({ url: PG_URL, namespace: pg.namespace }));
  const cache = new RedisCountCache({ url: SERVERS.redisUrl, namespace: uniqueName('t') });
  for (const adapter of [feed, publisher, counters, cache]) await adapter.init();
  t.after(async () => {
    await feed.close();
    await publisher.close();
    await cache.close();
  });
  let published = 0;
  await diesBetweenCommitAndCacheWrite({
    feed,
    counters,
    cache,
    like: async (post, users) => {
      const changes: Change[] = users.map((u) => ({ kind: 'delta', postId: post, userId: `u${u}`, delta: 1 }));
      await publisher.publish(changes, changes.map(() => (published++).toString(16).padStart(16, '0')));
    },
  });
});
