import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltas, shares } from '../../bench/stage-metrics.ts';

test('shares: each process\'s fraction of the work between two samples', () => {
  assert.deepEqual(shares([10, 20], [60, 70]), [0.5, 0.5]);
  assert.deepEqual(shares([0, 0], [100, 0]), [1, 0]);
  assert.deepEqual(shares([0, 0, 0], [1, 1, 1]), [0.333, 0.333, 0.333]);
  assert.deepEqual(shares([5], [5]), [0], 'no work: no share');
  assert.deepEqual(deltas([1, 2], [1.5, 4.25]), [0.5, 2.25]);
});
