import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fnv1a, partitionOf } from '../../src/domain/hash.ts';
import { hotShardOf, logKeyOf, logPartitionOf } from '../../src/domain/log-key.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

test('log key: S = 1 is the plain post id and the seed partition', () => {
  fc.assert(
    fc.property(id, id, fc.integer({ min: 1, max: 1024 }), (postId, userId, partitions) => {
      return logKeyOf(postId, userId, 1) === postId && logPartitionOf(postId, userId, 1, partitions) === partitionOf(postId, partitions);
    }),
  );
});

test('log key: postId#k with k = fnv1a(userId) mod S, stable (other languages must agree)', () => {
  assert.equal(hotShardOf('a', 4), 0xe40c292c % 4);
  assert.equal(logKeyOf('p1', 'a', 4), `p1#${0xe40c292c % 4}`);
  assert.equal(logPartitionOf('p1', 'a', 4, 12), (fnv1a('p1') + (0xe40c292c % 4)) % 12);
});

test('log key: one (post, user) pair has one key and one partition; k and the partition are in range', () => {
  fc.assert(
    fc.property(id, id, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), (postId, userId, shards, partitions) => {
      const k = hotShardOf(userId, shards);
      const p = logPartitionOf(postId, userId, shards, partitions);
      return (
        k >= 0 && k < shards && p >= 0 && p < partitions &&
        logKeyOf(postId, userId, shards) === logKeyOf(postId, userId, shards) &&
        p === logPartitionOf(postId, userId, shards, partitions)
      );
    }),
  );
});

test('log key: one hot post spreads over min(S, partitions) consecutive partitions, evenly by users', () => {
  const users = Array.from({ length: 40_000 }, (_, i) => `u${i}`);
  for (const [shards, partitions] of [[4, 4], [2, 4], [8, 4], [4, 12]] as const) {
    const perPartition = new Map<number, number>();
    for (const u of users) {
      const p = logPartitionOf('hot', u, shards, partitions);
      perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
    }
    assert.equal(perPartition.size, Math.min(shards, partitions), `S=${shards} P=${partitions}`);
    const base = fnv1a('hot') % partitions;
    for (const p of perPartition.keys()) assert.ok((p - base + partitions) % partitions < shards, `partition ${p} follows ${base}`);
    // Round-robin assignment over 2 consumers: partition i goes to member i mod 2.
    const member0 = [...perPartition].filter(([p]) => p % 2 === 0).reduce((s, [, n]) => s + n, 0);
    if (shards >= 2 && partitions % 2 === 0) assert.ok(member0 / users.length > 0.4 && member0 / users.length < 0.6, `S=${shards} P=${partitions}: member 0 gets ${member0}`);
  }
});
