import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderParentsFirst, planShards, type ShardCheckpoint } from '../../../src/adapters/dynamodb/stream-lineage.ts';

const cps = (entries: [string, ShardCheckpoint][]): Map<string, ShardCheckpoint> => new Map(entries);

test('a child shard is read only after its parent is done; roots and orphans of finished parents at once', () => {
  const shards = [{ shardId: 'a' }, { shardId: 'b', parentShardId: 'a' }, { shardId: 'c', parentShardId: 'a' }, { shardId: 'd', parentShardId: 'b' }];
  assert.deepEqual(planShards(shards, cps([])), { readable: ['a'], lost: [] });
  assert.deepEqual(planShards(shards, cps([['a', { seq: '5', done: false }]])).readable, ['a']);
  assert.deepEqual(planShards(shards, cps([['a', { seq: '9', done: true }]])).readable, ['b', 'c']);
  assert.deepEqual(planShards(shards, cps([['a', { done: true }], ['b', { done: true }], ['c', { seq: '1', done: false }]])).readable, ['c', 'd']);
  // The parent was finished and then trimmed from the stream: the child is readable, nothing lost.
  assert.deepEqual(planShards([{ shardId: 'b', parentShardId: 'a' }], cps([['a', { seq: '9', done: true }]])), { readable: ['b'], lost: [] });
});

test('records that may be lost are reported: a begun shard gone from the stream, an unknown parent of a running capture', () => {
  assert.deepEqual(planShards([{ shardId: 'b', parentShardId: 'a' }], cps([['a', { seq: '3', done: false }]])), { readable: ['b'], lost: ['a'] });
  // A capture that has been running meets a shard whose parent it never saw: the parent came and went unread.
  assert.deepEqual(planShards([{ shardId: 'x', parentShardId: 'w' }], cps([['a', { done: true }]])).lost, ['w']);
  // A fresh capture on a stream whose first shards expired long ago is not a loss of its own.
  assert.deepEqual(planShards([{ shardId: 'x', parentShardId: 'w' }], cps([])).lost, []);
});

test('lineage order does not depend on the listing order', () => {
  const listed = [{ shardId: 'd', parentShardId: 'b' }, { shardId: 'b', parentShardId: 'a' }, { shardId: 'a' }];
  assert.deepEqual(orderParentsFirst(listed).map((s) => s.shardId), ['a', 'b', 'd']);
  assert.deepEqual(planShards(listed, cps([['a', { done: true }]])).readable, ['b']);
  // A cycle (never produced by AWS) does not hang.
  assert.equal(orderParentsFirst([{ shardId: 'p', parentShardId: 'q' }, { shardId: 'q', parentShardId: 'p' }]).length, 2);
});
