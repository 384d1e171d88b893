import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryTokenBuckets } from '../../../src/adapters/memory/memory-token-buckets.ts';
import { tokenBucketsConformance } from '../../conformance/token-buckets.conformance.ts';

tokenBucketsConformance('memory', async () => {
  const buckets = new MemoryTokenBuckets();
  await buckets.init();
  return { buckets, cleanup: () => buckets.close() };
});

test('memory buckets keep at most maxKeys buckets, forgetting the oldest', async () => {
  let now = 0;
  const buckets = new MemoryTokenBuckets({ maxKeys: 2, now: () => now });
  const limit = { perSecond: 1, burst: 1 };
  assert.equal((await buckets.take('a', limit)).allowed, true);
  assert.equal((await buckets.take('b', limit)).allowed, true);
  assert.equal((await buckets.take('b', limit)).allowed, false, 'b is empty');
  assert.equal((await buckets.take('c', limit)).allowed, true, 'c evicts a, the oldest');
  assert.equal((await buckets.take('b', limit)).allowed, false, 'b is still remembered, still empty');
  assert.equal((await buckets.take('a', limit)).allowed, true, 'a was forgotten: a full bucket again');
  now += 1000;
  assert.equal((await buckets.take('b', limit)).allowed, true, 'a second later b has a token');
});

test('a take stays cheap with many buckets (no per-take reordering of a large map)', async () => {
  const buckets = new MemoryTokenBuckets();
  const limit = { perSecond: 1e6, burst: 1e6 };
  for (let i = 0; i < 20_000; i++) await buckets.take(`user:u${i}`, limit);
  const started = process.cpuUsage();
  for (let i = 0; i < 20_000; i++) await buckets.take('ip:127.0.0.1', limit);
  const used = process.cpuUsage(started);
  const perTake = (used.user + used.system) / 20_000;
  assert.ok(perTake < 10, `${perTake.toFixed(2)} µs per take`);
});
