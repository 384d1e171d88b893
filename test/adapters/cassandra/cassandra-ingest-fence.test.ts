import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readLog } from '../../../src/adapters/cassandra/cassandra-change-log.ts';
import { connectCassandra } from '../../../src/adapters/cassandra/cassandra-client.ts';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { cassandraNames } from '../../../src/adapters/cassandra/cassandra-schema.ts';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { IngestStep } from '../../../src/stages/ingest/ingest-stage.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

// The zombie-ingest regression (test/stages/ingest/ingest-fence.test.ts) on Cassandra, in its
// hardest form: the stale ingest passes the fence check, stalls, and writes only after the new
// owner applied newer events. The lightweight transactions on the likes partitions refuse it.
test('a stale ingest that passed the fence check and stalls cannot undo newer events on Cassandra', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-cfence-'));
  const db = new SqliteDatabase(dir);
  const ks = await freshKeyspace();
  t.after(async () => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    await ks.cleanup();
  });
  const partitions = 2;
  const log = new SqliteEventLog(db, { partitions, maxPendingEvents: 1000 });
  await log.init();
  let release = (): void => undefined;
  let enter = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const stalledStore = ks.track(
    new CassandraLikesStore({
      ...ks.connection,
      shards: 4,
      partitions,
      afterFenceCheck: async () => {
        enter();
        await gate;
      },
    }),
  );
  const store = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 4, partitions }));
  await stalledStore.init();
  await store.init();
  const options = { group: 'ingest', maxEvents: 100, maxWaitMs: 0, idleMs: 50 };
  const metrics = new Metrics({ defaultMetrics: false });
  const zombie = new IngestStep({ log, store: stalledStore, metrics }, options);
  const current = new IngestStep({ log, store, metrics }, options);
  await zombie.open();
  await current.open();

  await log.append([{ op: 'like', postId: 'p', userId: 'u', at: 1 }]);
  const zombieStep = zombie.step();
  await entered; // the zombie holds [like], passed the fence check, and stalls before writing
  assert.equal(await current.step(), true); // the new owner applies [like]
  await log.append([{ op: 'unlike', postId: 'p', userId: 'u', at: 2 }]);
  assert.equal(await current.step(), true); // ... and the newer [unlike]
  assert.ok(!(await store.likedPosts('u', ['p'])).has('p'));

  release();
  await assert.rejects(zombieStep, (e: unknown) => isTallyError(e) && e.code === 'position_conflict');
  assert.ok(!(await store.likedPosts('u', ['p'])).has('p'), 'the unlike stands: the stale like was not re-applied');

  // The change log holds exactly the two real changes, once each.
  const session = await connectCassandra(ks.connection, 'test');
  try {
    const stream = partitionOf('p', partitions);
    const entries = await readLog(session, cassandraNames(ks.namespace), stream, { time: 0, seq: 0 }, { time: 1_000_000, seq: 0 }, 100);
    assert.deepEqual(
      entries.map((e) => (e.change.kind === 'delta' ? e.change.delta : 'recount')),
      [1, -1],
    );
  } finally {
    await session.shutdown();
  }
  await zombie.close();
  await current.close();
});
