/**
 * The Cassandra erasures' crash safety, below the conformance suite: a step cut short after its
 * deletes and before its commit (the process dies there) is redone by another store from the plan
 * kept in the part's row, and then the removed count is exact, every row is gone from the likes
 * and both indexes, and the change log holds exactly one -1 per erased row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readLog } from '../../../src/adapters/cassandra/cassandra-change-log.ts';
import { connectCassandra } from '../../../src/adapters/cassandra/cassandra-client.ts';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { cassandraNames } from '../../../src/adapters/cassandra/cassandra-schema.ts';
import { newErasure } from '../../../src/domain/erasure.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

const PARTITIONS = 2;
let clock = 1_720_000_000_000;
const like = (postId: string, userId: string): LikeEvent => ({ op: 'like', postId, userId, at: clock++ });

for (const kind of ['user', 'post'] as const) {
  test(`a ${kind} erasure step cut short after its deletes is redone by another store: exact count, one -1 per row`, { timeout: 120_000 }, async (t) => {
    const ks = await freshKeyspace();
    t.after(() => ks.cleanup());
    const layout = { ...ks.connection, shards: 4, partitions: PARTITIONS };
    const likes = ks.track(new CassandraLikesStore(layout));
    await likes.init();
    const posts = Array.from({ length: 60 }, (_, i) => `c${i}`);
    const users = Array.from({ length: 45 }, (_, i) => `cu${i}`);
    await likes.apply(kind === 'user' ? [...posts.map((p) => like(p, 'gone')), like('c1', 'stays')] : [...users.map((u) => like('doomed', u)), like('kept', 'cu1')]);
    const marker = newErasure(kind, kind === 'user' ? 'gone' : 'doomed', 1);
    await likes.erasureAccepted(marker, kind === 'user' ? PARTITIONS : 1);
    const partitions = kind === 'user' ? [0, 1] : [partitionOf('doomed', PARTITIONS)];

    let calls = 0;
    const crashing = ks.track(
      new CassandraLikesStore({
        ...layout,
        afterEraseRows: async () => {
          if (++calls === 2) throw new Error('killed after the deletes, before the commit');
        },
      }),
    );
    await crashing.init();
    const expected = kind === 'user' ? posts.length : users.length;
    let stepsBeforeCrash = 0;
    for (const partition of partitions) {
      const offset = (await likes.logPositions()).find((p) => p.partition === partition)?.offset ?? 0;
      const place = { partition, offset, partitions: PARTITIONS };
      for (let i = 0; i < 100; i++) {
        const step = await (calls < 2 ? crashing : likes).eraseStep(marker, place, 8).catch((error: unknown) => {
          if (String(error).includes('killed after the deletes')) return undefined;
          throw error;
        });
        if (calls < 2) stepsBeforeCrash++;
        if (step?.done === true) break;
      }
    }
    assert.ok(calls >= 2 && stepsBeforeCrash >= 1, 'the crash happened in the middle');
    const status = await likes.erasureStatus(kind, marker.target);
    assert.equal(status?.status, 'applied');
    assert.equal(status?.removed, expected, 'removed counts each row once, the redone step included');
    if (kind === 'user') {
      assert.equal((await likes.likedPosts('gone', posts)).size, 0);
      assert.deepEqual((await likes.likesOf('gone', 100, undefined)).items, []);
      assert.equal((await likes.likedPosts('stays', ['c1'])).size, 1);
    } else {
      assert.deepEqual((await likes.likers('doomed', 100, undefined)).items, []);
      assert.equal((await likes.likers('kept', 100, undefined)).items.length, 1);
    }

    const session = await connectCassandra(ks.connection, 'test');
    try {
      const minus: string[] = [];
      for (const partition of partitions) {
        const entries = await readLog(session, cassandraNames(ks.namespace), partition, { time: 0, seq: 0 }, { time: 1_000_000, seq: 0 }, 1000);
        for (const e of entries) if (e.change.kind === 'delta' && e.change.delta < 0) minus.push(`${e.change.postId}/${e.change.userId}`);
      }
      assert.equal(minus.length, expected, 'one -1 per erased row in the change log');
      assert.equal(new Set(minus).size, expected, 'no row has two');
    } finally {
      await session.shutdown();
    }
  });
}
