import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { transactWrite, TransactionCancelled } from '../../../src/adapters/dynamodb/dynamo-batch.ts';
import { createDynamoClient } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { DynamoFence } from '../../../src/adapters/dynamodb/dynamo-fence.ts';
import { DynamoLikesStore } from '../../../src/adapters/dynamodb/dynamo-likes-store.ts';
import { dynamoTableNames } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import { likeKey } from '../../../src/adapters/dynamodb/likes-keys.ts';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { LikesStore, LogFence } from '../../../src/ports/likes-store.ts';
import { IngestStep } from '../../../src/stages/ingest/ingest-stage.ts';
import { freshDynamoNamespace } from './dynamo-fixture.ts';

/** A likes store whose applies wait for a gate: an ingest that stalls between reading and applying. */
function stalled(store: LikesStore): { store: LikesStore; release: () => void; entered: Promise<void> } {
  let release = (): void => undefined;
  let enter = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const wrapper: LikesStore = Object.create(store) as LikesStore;
  wrapper.apply = async (events: readonly LikeEvent[], fence?: LogFence) => {
    enter();
    await gate;
    return store.apply(events, fence);
  };
  wrapper.logPositions = () => store.logPositions();
  return { store: wrapper, release, entered };
}

// The regression of test/stages/ingest/ingest-fence.test.ts against the DynamoDB likes store (moto_server).
test('dynamodb: a stale ingest (its partitions moved on meanwhile) cannot undo newer events: its batch is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-dfence-'));
  const db = new SqliteDatabase(dir);
  const ns = await freshDynamoNamespace();
  t.after(async () => {
    await ns.cleanup();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const log = new SqliteEventLog(db, { partitions: 2, maxPendingEvents: 1000 });
  const store = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 4 }));
  await log.init();
  await store.init();
  const options = { group: 'ingest', maxEvents: 100, maxWaitMs: 0, idleMs: 50 };
  const metrics = new Metrics({ defaultMetrics: false });
  const slow = stalled(store);
  const zombie = new IngestStep({ log, store: slow.store, metrics }, options);
  const current = new IngestStep({ log, store, metrics }, options);
  await zombie.open();
  await current.open();

  await log.append([{ op: 'like', postId: 'p', userId: 'u', at: 1 }]);
  const zombieStep = zombie.step();
  await slow.entered;
  assert.equal(await current.step(), true);
  await log.append([{ op: 'unlike', postId: 'p', userId: 'u', at: 2 }]);
  assert.equal(await current.step(), true);
  assert.ok(!(await store.likedPosts('u', ['p'])).has('p'));

  slow.release();
  await assert.rejects(zombieStep, (e: unknown) => isTallyError(e) && e.code === 'position_conflict');
  assert.ok(!(await store.likedPosts('u', ['p'])).has('p'), 'the unlike stands: the stale like was not re-applied');
  await zombie.close();
  await current.close();
});

test('dynamodb: a zombie that claimed its partitions and stalled past its lease cannot write after the new owner took over', async (t) => {
  const ns = await freshDynamoNamespace();
  t.after(() => ns.cleanup());
  const store = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 4, ingestLeaseMs: 300 }));
  await store.init();
  const client = createDynamoClient(ns.settings);
  t.after(() => client.destroy());
  const names = dynamoTableNames(ns.namespace);
  const fence = new DynamoFence({ client, endpoint: ns.settings.endpoint, table: names.positions }, 'ingest', 'zombie');
  const from = [{ partition: 0, offset: 0 }];
  // The zombie claims [0, 10) and stalls before writing.
  await fence.claim(from, [{ partition: 0, offset: 10 }], 'zombie', 300, true);
  await assert.rejects(store.apply([{ op: 'like', postId: 'z', userId: 'u1', at: 2 }], { from, to: [{ partition: 0, offset: 10 }] }), (e: unknown) => isTallyError(e) && e.code === 'position_conflict', 'held: the new owner waits');
  await new Promise((resolve) => setTimeout(resolve, 400));
  // The lease ran out: the new owner takes over, applies the newer unlike, moves on.
  await store.apply([{ op: 'like', postId: 'z', userId: 'u1', at: 2 }], { from, to: [{ partition: 0, offset: 10 }] });
  await store.apply([{ op: 'unlike', postId: 'z', userId: 'u1', at: 3 }], { from: [{ partition: 0, offset: 10 }], to: [{ partition: 0, offset: 11 }] });
  // The zombie wakes up and writes its stale like: the holder check refuses the whole transaction.
  const key = likeKey('z', 'u1', 4);
  await assert.rejects(
    transactWrite(client, ns.settings.endpoint, [...fence.holderChecks([0], 'zombie'), { Put: { TableName: names.likes, Item: { ...key, likedAt: { N: '1' } } } }]),
    (e: unknown) => e instanceof TransactionCancelled,
  );
  await assert.rejects(fence.release([0], [{ partition: 0, offset: 10 }], 'zombie'), (e: unknown) => isTallyError(e) && e.code === 'position_conflict');
  assert.ok(!(await store.likedPosts('u1', ['z'])).has('z'), 'the unlike stands');
  assert.deepEqual(await store.logPositions(), [{ partition: 0, offset: 11 }]);
});
