import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../bench/prng.ts';
import { ZipfSampler } from '../../bench/zipf.ts';

test('probabilities follow 1/(r+1)^s and sum to 1', () => {
  const zipf = new ZipfSampler(100, 1.2);
  let total = 0;
  for (let r = 0; r < 100; r++) total += zipf.probability(r);
  assert.ok(Math.abs(total - 1) < 1e-9);
  assert.ok(Math.abs(zipf.probability(0) / zipf.probability(1) - 2 ** 1.2) < 1e-9);
  assert.ok(Math.abs(zipf.probability(9) / zipf.probability(99) - 10 ** 1.2) < 1e-6);
  assert.equal(zipf.probability(100), 0);
});

test('samples match the probabilities', () => {
  const zipf = new ZipfSampler(1000, 1.2);
  const random = mulberry32(11);
  const n = 200_000;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = zipf.sample(random);
    assert.ok(r >= 0 && r < 1000);
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  for (const r of [0, 1, 5, 50]) {
    const expected = zipf.probability(r) * n;
    const got = counts.get(r) ?? 0;
    assert.ok(Math.abs(got - expected) < 5 * Math.sqrt(expected) + 5, `rank ${r}: expected ${expected}, got ${got}`);
  }
});

test('s = 0 is uniform and n = 1 always gives rank 0', () => {
  const uniform = new ZipfSampler(4, 0);
  for (let r = 0; r < 4; r++) assert.ok(Math.abs(uniform.probability(r) - 0.25) < 1e-12);
  const one = new ZipfSampler(1, 1.2);
  const random = mulberry32(1);
  for (let i = 0; i < 10; i++) assert.equal(one.sample(random), 0);
});

test('bad parameters are refused', () => {
  assert.throws(() => new ZipfSampler(0, 1), RangeError);
  assert.throws(() => new ZipfSampler(10, -1), RangeError);
  assert.throws(() => new ZipfSampler(10, Number.NaN), RangeError);
});
