/**
 * The Cassandra likes store numbers each event by its log offset. A like-events record holding
 * several events (a bundle) would give two likes one number, and the later would be lost as a
 * replay; the store refuses such a batch, changing nothing, instead of applying it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

const like = (postId: string, userId: string, at: number): LikeEvent => ({ op: 'like', postId, userId, at });

test('a batch with more events than log positions (bundled records) is refused, and nothing is written; fewer (skipped records) is fine', { timeout: 60_000 }, async (t) => {
  const ks = await freshKeyspace();
  t.after(() => ks.cleanup());
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 4, partitions: 2 }));
  await likes.init();
  const partition = partitionOf('p', 2);
  const events = [like('p', 'a', 1), like('p', 'b', 2)];
  await assert.rejects(
    likes.apply(events, { from: [{ partition, offset: 0 }], to: [{ partition, offset: 1 }] }),
    /2 events for log positions 0\.\.1 of partition \d+; this store needs one event per like-events record/,
  );
  assert.deepEqual(await likes.logPositions(), [], 'no position moved');
  assert.equal((await likes.likers('p', 10, undefined)).items.length, 0, 'no row written');
  // One event per position is applied as before.
  await likes.apply(events, { from: [{ partition, offset: 0 }], to: [{ partition, offset: 2 }] });
  assert.equal((await likes.likers('p', 10, undefined)).items.length, 2);
  // Fewer events than positions is a log with gaps (a foreign record skipped): applied.
  await likes.apply([like('p', 'c', 3)], { from: [{ partition, offset: 2 }], to: [{ partition, offset: 5 }] });
  assert.equal((await likes.likers('p', 10, undefined)).items.length, 3);
  assert.deepEqual(await likes.logPositions(), [{ partition, offset: 5 }]);
});
