import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transactWrite, TransactionCancelled } from '../../../src/adapters/dynamodb/dynamo-batch.ts';
import { createDynamoClient } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { DynamoFence } from '../../../src/adapters/dynamodb/dynamo-fence.ts';
import { DynamoLikesStore } from '../../../src/adapters/dynamodb/dynamo-likes-store.ts';
import { dynamoTableNames } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import { likeKey } from '../../../src/adapters/dynamodb/likes-keys.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import { freshDynamoNamespace } from './dynamo-fixture.ts';

// The stalled-ingest case runs on every store from test/conformance/ingest-fence.conformance.ts
// (dynamo-conformance.test.ts); this one is DynamoDB's own: its fence is a lease.
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
  // The zombie claims [0, 10) and stalls before writing. (A lease long enough to assert on a busy machine.)
  const lease = 4000;
  const claimedAt = Date.now();
  await fence.claim(from, [{ partition: 0, offset: 10 }], 'zombie', lease, true);
  await assert.rejects(store.apply([{ op: 'like', postId: 'z', userId: 'u1', at: 2 }], { from, to: [{ partition: 0, offset: 10 }] }), (e: unknown) => isTallyError(e) && e.code === 'position_conflict', 'held: the new owner waits');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, claimedAt + lease + 300 - Date.now())));
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
