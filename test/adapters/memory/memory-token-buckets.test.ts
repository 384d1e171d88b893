import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryTokenBuckets } from '../../../src/adapters/memory/memory-token-buckets.ts';
import { tokenBucketsConformance } from '../../conformance/token-buckets.conformance.ts';

tokenBucketsConformance('memory', async () => {
  const buckets = new MemoryTokenBuckets();
  await buckets.init();
  return { buckets, cleanup: () => buckets.close() };
});

test('memory buckets keep at most maxKeys buckets, forgetting the least recently used', async () => {
  let now = 0;
  const buckets = new MemoryTokenBuckets({ maxKeys: 2, now: () => now });
  const limit = { perSecond: 1, burst: 1 };
  assert.equal((await buckets.take('a', limit)).allowed, true);
  assert.equal((await buckets.take('b', limit)).allowed, true);
  assert.equal((await buckets.take('a', limit)).allowed, false, 'a is empty and recently used');
  assert.equal((await buckets.take('c', limit)).allowed, true, 'c evicts b, the least recently used');
  assert.equal((await buckets.take('b', limit)).allowed, true, 'b was forgotten: a full bucket again');
  now += 1000;
  assert.equal((await buckets.take('a', limit)).allowed, true, 'a second later a has a token');
});
