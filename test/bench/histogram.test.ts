import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CURVE_PERCENTILES, latencyHistogram, percentileCurve, recordMs, summarize } from '../../bench/histogram.ts';

test('an empty histogram summarizes to zeros and no curve', () => {
  const h = latencyHistogram();
  assert.deepEqual(summarize(h), { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
  assert.deepEqual(percentileCurve(h), []);
});

test('percentiles of 1..1000 ms are within the histogram precision', () => {
  const h = latencyHistogram();
  for (let ms = 1; ms <= 1000; ms++) recordMs(h, ms);
  const s = summarize(h);
  assert.equal(s.count, 1000);
  const near = (got: number, want: number): void => assert.ok(Math.abs(got - want) <= want * 0.001 + 0.001, `${got} vs ${want}`);
  near(s.p50Ms, 500);
  near(s.p90Ms, 900);
  near(s.p99Ms, 990);
  near(s.p999Ms, 999);
  near(s.maxMs, 1000);
  near(s.meanMs, 500.5);
});

test('sub-millisecond values keep microsecond resolution; huge ones are clamped', () => {
  const h = latencyHistogram();
  recordMs(h, 0.25);
  recordMs(h, 0);
  assert.equal(summarize(h).maxMs, 0.25);
  recordMs(h, 1e9);
  assert.ok(summarize(h).maxMs <= 600_000 * 1.001);
});

test('the curve is sampled at increasing percentiles and is non-decreasing', () => {
  const h = latencyHistogram();
  for (let i = 0; i < 10_000; i++) recordMs(h, (i % 97) + 1);
  const curve = percentileCurve(h);
  assert.equal(curve.length, CURVE_PERCENTILES.length);
  assert.equal(curve.at(-1)?.percentile, 100);
  for (let i = 1; i < curve.length; i++) {
    assert.ok(curve[i]!.percentile > curve[i - 1]!.percentile);
    assert.ok(curve[i]!.ms >= curve[i - 1]!.ms);
  }
});
