import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectCassandra } from '../../../src/adapters/cassandra/cassandra-client.ts';
import { CassandraCounterStore } from '../../../src/adapters/cassandra/cassandra-counter-store.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

// Counts are written at timestamps derived from their versions, above the wall clock: a write made
// by hand (stamped with the current time in microseconds) must not freeze a count against
// Tally's later writes.
test('a hand-made CQL write to counts never overrides the counter store', async (t) => {
  const ks = await freshKeyspace();
  t.after(() => ks.cleanup());
  const counters = ks.track(new CassandraCounterStore(ks.connection));
  await counters.init();
  await counters.apply({ updates: new Map([['a', { base: undefined, delta: 2 }]]), from: [], to: [{ partition: 0, offset: 1 }] });
  const session = await connectCassandra(ks.connection, 'test');
  try {
    await session.execute(`UPDATE ${ks.namespace}.counts SET count = 99, version = 99 WHERE post_id = 'a'`);
  } finally {
    await session.shutdown();
  }
  assert.equal((await counters.getMany(['a'])).get('a')?.count, 2);
  await counters.apply({ updates: new Map([['a', { base: undefined, delta: 1 }]]), from: [{ partition: 0, offset: 1 }], to: [{ partition: 0, offset: 2 }] });
  const a = (await counters.getMany(['a'])).get('a');
  assert.equal(a?.count, 3);
  assert.equal(a?.version, 2);
});

// Regression (fault test): a counter killed after claiming a batch leaves it pending; the next
// counter finishes it, and those counts must reach the cache, or the API serves a stale count
// for posts that get no more changes.
test('a batch a dead counter claimed is finished by the next apply, and its counts are returned for the cache', async (t) => {
  const ks = await freshKeyspace();
  t.after(() => ks.cleanup());
  const counters = ks.track(new CassandraCounterStore(ks.connection));
  await counters.init();
  await counters.apply({ updates: new Map([['a', { base: undefined, delta: 1 }]]), from: [], to: [{ partition: 0, offset: 1 }] });
  const session = await connectCassandra(ks.connection, 'test');
  const deadCounterClaims = async (id: string, to: number, count: number, fromVersion: number, state = 'writing'): Promise<void> => {
    const body = JSON.stringify({ to: [{ partition: 0, offset: to }], writes: [{ p: 'a', c: count, from: fromVersion }] });
    await session.execute(`INSERT INTO ${ks.namespace}.counter_batches (id, body, state) VALUES (?, ?, ?)`, [id, body, state]);
    await session.execute(`UPDATE ${ks.namespace}.counter_positions SET pending = ? WHERE partition = 0`, [id]);
  };
  try {
    // The resumed counter replays exactly what the dead one had claimed: [1, 3).
    await deadCounterClaims('dead1', 3, 5, 1);
    const replay = await counters.apply({ updates: new Map([['a', { base: undefined, delta: 4 }]]), from: [{ partition: 0, offset: 1 }], to: [{ partition: 0, offset: 3 }] });
    assert.deepEqual(replay, [{ postId: 'a', count: 5, version: 2 }]);
    assert.deepEqual(await counters.positions(), [{ partition: 0, offset: 3 }]);
    // It reads further than the dead one had claimed, [3, 9): refused, then resumed from 5.
    await deadCounterClaims('dead2', 5, 7, 2);
    await assert.rejects(counters.apply({ updates: new Map([['a', { base: undefined, delta: 3 }]]), from: [{ partition: 0, offset: 3 }], to: [{ partition: 0, offset: 9 }] }));
    const next = await counters.apply({ updates: new Map([['a', { base: undefined, delta: 1 }]]), from: [{ partition: 0, offset: 5 }], to: [{ partition: 0, offset: 9 }] });
    assert.deepEqual(next, [{ postId: 'a', count: 7, version: 3 }, { postId: 'a', count: 8, version: 4 }]);
    assert.equal((await counters.getMany(['a'])).get('a')?.count, 8);
    // A counter that died between two claims (still `claiming`) wrote nothing: its claim is
    // dropped, nothing of it is written, and the replay applies the changes once.
    await deadCounterClaims('dead3', 12, 100, 4, 'claiming');
    const after = await counters.apply({ updates: new Map([['a', { base: undefined, delta: 2 }]]), from: [{ partition: 0, offset: 9 }], to: [{ partition: 0, offset: 12 }] });
    assert.deepEqual(after, [{ postId: 'a', count: 10, version: 5 }]);
    assert.deepEqual(await counters.positions(), [{ partition: 0, offset: 12 }]);
  } finally {
    await session.shutdown();
  }
});
