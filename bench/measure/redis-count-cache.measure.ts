/**
 * Measures the Redis count cache on the local server (not part of `npm test`):
 *   ./tally node bench/measure/redis-count-cache.measure.ts [posts=200000] [batch=1000] [concurrency=8]
 * Writes `posts` versioned counts with setMany in batches, then reads them with getMany in
 * batches (`concurrency` calls at a time); prints entries/s of each.
 */
import { Redis } from 'ioredis';
import { RedisCountCache } from '../../src/adapters/redis/redis-count-cache.ts';
import type { VersionedCount } from '../../src/ports/counter-store.ts';
import { REDIS_URL, uniqueName } from './measure-kit.ts';

const URL = REDIS_URL;
const posts = Number(process.argv[2] ?? 200_000);
const batch = Number(process.argv[3] ?? 1_000);
const concurrency = Number(process.argv[4] ?? 8);
const namespace = uniqueName('t');
const cache = new RedisCountCache({ url: URL, namespace });
await cache.init();

async function run(label: string, work: (from: number) => Promise<void>): Promise<void> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < posts) {
      const from = next;
      next += batch;
      await work(from);
    }
  }));
  const ms = performance.now() - started;
  console.log(`${label}: ${posts} entries in ${ms.toFixed(0)} ms = ${Math.round(posts / (ms / 1000))} entries/s (batches of ${batch}, ${concurrency} concurrent calls)`);
}

const ids = (from: number): string[] => Array.from({ length: Math.min(batch, posts - from) }, (_, i) => `p${from + i}`);
try {
  await run('setMany (new keys)', (from) => cache.setMany(ids(from).map((postId, i): VersionedCount => ({ postId, count: from + i, version: 1 }))));
  await run('setMany (newer versions)', (from) => cache.setMany(ids(from).map((postId, i): VersionedCount => ({ postId, count: from + i + 1, version: 2 }))));
  await run('setMany (stale, refused)', (from) => cache.setMany(ids(from).map((postId): VersionedCount => ({ postId, count: 0, version: 1 }))));
  let hits = 0;
  await run('getMany', async (from) => {
    const found = (await cache.getMany(ids(from))).filter((hit) => hit !== undefined).length;
    hits += found;
  });
  if (hits !== posts) throw new Error(`expected ${posts} hits, got ${hits}`);
} finally {
  await cache.close();
  const redis = new Redis(URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
