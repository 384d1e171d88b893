import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectCassandra } from '../../../src/adapters/cassandra/cassandra-client.ts';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { cassandraNames, migrateCassandra } from '../../../src/adapters/cassandra/cassandra-schema.ts';
import { freshKeyspace, REPLICATION } from './cassandra-fixture.ts';

test('a keyspace from before the Likes tab gets likes_by_user filled from its likes, also after an interrupted backfill', async (t) => {
  const ks = await freshKeyspace();
  t.after(() => ks.cleanup());
  const names = cassandraNames(ks.namespace);
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 4, partitions: 2 }));
  await likes.init();
  await likes.apply([
    { op: 'like', postId: 'p1', userId: 'u1', at: 1000 },
    { op: 'like', postId: 'p2', userId: 'u1', at: 2000 },
    { op: 'like', postId: 'p2', userId: 'u2', at: 3000 },
  ]);
  const session = await connectCassandra(ks.connection, 'tally-test');
  t.after(() => session.shutdown());
  const tab = async (userId: string): Promise<string[]> => (await likes.likesOf(userId, 10, undefined)).items.map((i) => `${i.postId}@${i.likedAt}`);
  assert.deepEqual(await tab('u1'), ['p2@2000', 'p1@1000']);

  // Before the Likes tab: no such table.
  await session.execute(`DROP TABLE ${names.likesByUser}`);
  await migrateCassandra({ ...ks.connection, replication: REPLICATION });
  assert.deepEqual(await tab('u1'), ['p2@2000', 'p1@1000']);
  assert.deepEqual(await tab('u2'), ['p2@3000']);

  // A backfill cut short: the table exists, but its comment does not say complete.
  await session.execute(`ALTER TABLE ${names.likesByUser} WITH comment = ''`);
  await session.execute(`TRUNCATE ${names.likesByUser}`);
  await migrateCassandra({ ...ks.connection, replication: REPLICATION });
  assert.deepEqual(await tab('u1'), ['p2@2000', 'p1@1000']);

  // An unlike after the backfill removes the row (the backfill writes below Tally's own timestamps).
  await likes.apply([{ op: 'unlike', postId: 'p2', userId: 'u1', at: 4000 }]);
  assert.deepEqual(await tab('u1'), ['p1@1000']);
  await migrateCassandra({ ...ks.connection, replication: REPLICATION }); // complete: a no-op
  assert.deepEqual(await tab('u1'), ['p1@1000']);
});
