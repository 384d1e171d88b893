import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCountCache } from '../../../src/adapters/memory/memory-count-cache.ts';
import { countCacheConformance } from '../../conformance/count-cache.conformance.ts';

countCacheConformance('memory', async () => {
  const cache = new MemoryCountCache({ maxEntries: 10_000 });
  await cache.init();
  return { cache, cleanup: () => cache.close() };
});

test('the memory cache stays within its bound', async () => {
  const cache = new MemoryCountCache({ maxEntries: 100 });
  await cache.setMany(Array.from({ length: 1000 }, (_, i) => ({ postId: `p${i}`, count: i, version: 1 })));
  assert.ok(cache.size <= 100, `size ${cache.size}`);
  assert.equal((await cache.getMany(['p999']))[0]?.count, 999, 'the newest entries survive');
});
