import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgetOldest, tenthOf } from '../../src/domain/bounded-map.ts';

test('forgetOldest drops the entries inserted first, reporting each; an entry set again in place keeps its place', () => {
  const map = new Map<string, number>([
    ['a', 1],
    ['b', 2],
    ['c', 3],
    ['d', 4],
  ]);
  map.set('a', 10);
  const forgotten: [string, number][] = [];
  forgetOldest(map, 2, (key, value) => forgotten.push([key, value]));
  assert.deepEqual(forgotten, [
    ['a', 10],
    ['b', 2],
  ]);
  assert.deepEqual([...map.keys()], ['c', 'd']);
  forgetOldest(map, 5);
  assert.equal(map.size, 0, 'more than it holds empties it');
  assert.deepEqual([tenthOf(1), tenthOf(10), tenthOf(11), tenthOf(100_000)], [1, 1, 2, 10_000]);
});
