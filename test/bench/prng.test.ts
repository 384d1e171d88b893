import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, randomInt } from '../../bench/prng.ts';

test('mulberry32 repeats its sequence for a seed and differs across seeds', () => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const c = mulberry32(8);
  const first = Array.from({ length: 5 }, () => a());
  assert.deepEqual(Array.from({ length: 5 }, () => b()), first);
  assert.notDeepEqual(Array.from({ length: 5 }, () => c()), first);
});

test('mulberry32 stays in [0, 1) and is roughly uniform', () => {
  const random = mulberry32(1);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = random();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]!++;
  }
  for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 500, `bucket count ${count}`);
});

test('randomInt covers [0, n) and nothing else', () => {
  const random = mulberry32(3);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(randomInt(random, 5));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
});
