import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCountCache } from '../../../src/adapters/redis/redis-count-cache.ts';
import { countCacheConformance } from '../../conformance/count-cache.conformance.ts';
import { uniqueName } from '../../helpers/wait.ts';

const URL = process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key of a namespace. */
async function deleteNamespace(namespace: string): Promise<void> {
  const redis = new Redis(URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

async function openCache(t: TestContext, ttlSeconds?: number): Promise<{ cache: RedisCountCache; namespace: string }> {
  const namespace = uniqueName('t');
  const cache = new RedisCountCache({ url: URL, namespace, ttlSeconds });
  await cache.init();
  t.after(async () => {
    await cache.close();
    await deleteNamespace(namespace);
  });
  return { cache, namespace };
}

async function rawClient(t: TestContext): Promise<Redis> {
  const redis = new Redis(URL);
  t.after(() => redis.quit());
  return redis;
}

countCacheConformance('redis', async () => {
  const namespace = uniqueName('t');
  const cache = new RedisCountCache({ url: URL, namespace });
  await cache.init();
  return { cache, cleanup: async () => { await cache.close(); await deleteNamespace(namespace); } };
});

test('set-if-newer: an older or equal version never replaces the stored one, also within one call', async (t) => {
  const { cache } = await openCache(t);
  await cache.setMany([{ postId: 'a', count: 10, version: 5 }]);
  await cache.setMany([{ postId: 'a', count: 9, version: 4 }, { postId: 'a', count: 7, version: 5 }]);
  assert.deepEqual(await cache.getMany(['a']), [{ postId: 'a', count: 10, version: 5 }]);
  await cache.setMany([{ postId: 'a', count: 11, version: 6 }, { postId: 'a', count: 3, version: 2 }]);
  assert.equal((await cache.getMany(['a']))[0]?.count, 11);
  // Concurrent writers: whatever the interleaving, the highest version wins.
  await Promise.all(Array.from({ length: 50 }, (_, v) => cache.setMany([{ postId: 'b', count: v * 10, version: v }])));
  assert.deepEqual(await cache.getMany(['b']), [{ postId: 'b', count: 490, version: 49 }]);
});

test('MGET of missing keys answers undefined in their places', async (t) => {
  const { cache } = await openCache(t);
  assert.deepEqual(await cache.getMany([]), []);
  assert.deepEqual(await cache.getMany(['nope', 'nada']), [undefined, undefined]);
  await cache.setMany([{ postId: 'x', count: 0, version: 1 }]);
  assert.deepEqual(await cache.getMany(['nope', 'x', 'nada']), [undefined, { postId: 'x', count: 0, version: 1 }, undefined]);
});

test('entries carry the TTL; the key and value are readable by redis-cli', async (t) => {
  const { cache, namespace } = await openCache(t, 120);
  const redis = await rawClient(t);
  await cache.setMany([{ postId: 'p-1', count: 1337, version: 42 }]);
  assert.equal(await redis.get(`${namespace}:count:p-1`), '42:1337');
  assert.equal(cache.keyOf('p-1'), `${namespace}:count:p-1`);
  const ttl = await redis.ttl(`${namespace}:count:p-1`);
  assert.ok(ttl > 100 && ttl <= 120, `ttl ${ttl}`);
  // A refused write does not extend the life of the newer entry.
  await redis.expire(`${namespace}:count:p-1`, 30);
  await cache.setMany([{ postId: 'p-1', count: 1, version: 41 }]);
  assert.ok((await redis.ttl(`${namespace}:count:p-1`)) <= 30);
});

test('a value that is not version:count is a miss, and a newer write repairs it', async (t) => {
  const { cache, namespace } = await openCache(t);
  const redis = await rawClient(t);
  await redis.set(`${namespace}:count:bad`, 'garbage');
  assert.deepEqual(await cache.getMany(['bad']), [undefined]);
  await cache.setMany([{ postId: 'bad', count: 2, version: 1 }]);
  assert.equal((await cache.getMany(['bad']))[0]?.count, 2);
});

test('an unreachable Redis fails with a retriable backend_unavailable', async () => {
  const cache = new RedisCountCache({ url: 'redis://127.0.0.1:1', namespace: 't_unreachable' });
  await assert.rejects(cache.init(), (e: unknown) => (e as { code?: string }).code === 'backend_unavailable' && (e as { retriable?: boolean }).retriable === true);
  await cache.close();
});
