import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoClient } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { DynamoErasures } from '../../../src/adapters/dynamodb/dynamo-erasures.ts';
import { DynamoFence } from '../../../src/adapters/dynamodb/dynamo-fence.ts';
import { DynamoLikesStore } from '../../../src/adapters/dynamodb/dynamo-likes-store.ts';
import { DynamoPostLocks } from '../../../src/adapters/dynamodb/dynamo-post-locks.ts';
import { dynamoTableNames } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import { newErasure, type ErasureMarker } from '../../../src/domain/erasure.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import type { LikesStore, MarkerPlace, UserLikesPage } from '../../../src/ports/likes-store.ts';
import { freshDynamoNamespace, type DynamoNamespace } from './dynamo-fixture.ts';

// The erasure contract runs on every store from test/conformance/likes-store-erasure.conformance.ts
// (dynamo-conformance.test.ts); these are DynamoDB's own cases: a step is many writes, not one
// transaction, so a crash between two of them, and a stale by-user index, must still count exactly.

const SHARDS = 8;
const posts = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function seeded(ns: DynamoNamespace, user: string, liked: readonly string[]): Promise<DynamoLikesStore> {
  const store = ns.track(new DynamoLikesStore({ ...ns.settings, shards: SHARDS }));
  await store.init();
  await store.apply([...liked.map((postId, i) => ({ op: 'like' as const, postId, userId: user, at: 1_700_000_000_000 + i })), ...liked.slice(0, 20).map((postId) => ({ op: 'like' as const, postId, userId: 'stays', at: 1_700_000_000_000 }))]);
  return store;
}

/** An erasures instance whose client "crashes" once its `commits`-th TransactWriteItems has committed: that one and every later call fail. */
function crashing(ns: DynamoNamespace, store: LikesStore, commits: number, leaseMs: number): { erasures: DynamoErasures; destroy: () => void } {
  const client = createDynamoClient(ns.settings);
  const send = client.send.bind(client);
  let transactions = 0;
  let crashed = false;
  client.send = (async (command: Parameters<typeof send>[0]) => {
    if (crashed) throw new Error('crashed');
    const result = await send(command);
    if (command instanceof TransactWriteItemsCommand && ++transactions === commits) {
      crashed = true;
      throw new Error('crashed after the commit, before the answer');
    }
    return result;
  }) as typeof client.send;
  const names = dynamoTableNames(ns.namespace);
  const deps = { client, endpoint: ns.settings.endpoint, table: names.positions };
  const erasures = new DynamoErasures({
    client,
    endpoint: ns.settings.endpoint,
    names,
    fence: new DynamoFence(deps, 'ingest', 'crashing ingest'),
    locks: new DynamoPostLocks(deps),
    shards: SHARDS,
    leaseMs,
    lockWaitMs: 10_000,
    indexLagMs: 0,
    userLikes: (userId, limit, cursor) => store.likesOf(userId, limit, cursor),
  });
  return { erasures, destroy: () => client.destroy() };
}

/** Runs the part to the end with the real store, retrying while a crashed holder's lease stands. */
async function finish(store: LikesStore, marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<number> {
  let removed = 0;
  for (let i = 0; i < 500; i++) {
    try {
      const step = await store.eraseStep(marker, place, limit);
      removed += step.removed;
      if (step.done) return removed;
    } catch (error) {
      if (!(isTallyError(error) && error.code === 'position_conflict')) throw error;
      await sleep(100);
    }
  }
  throw new Error('the part never finished');
}

for (const kind of ['user', 'post'] as const) {
  test(`dynamodb: a ${kind} erasure step that crashes after any one of its transactions is redone without counting anything twice`, { timeout: 180_000 }, async (t) => {
    const ns = await freshDynamoNamespace();
    t.after(() => ns.cleanup());
    const store = ns.track(new DynamoLikesStore({ ...ns.settings, shards: SHARDS }));
    await store.init();
    // 250 rows of the target, a step of 1000: the claim, a few delete transactions and the save.
    const target = kind === 'user' ? 'eve' : 'gone';
    const rows = posts(250, kind === 'user' ? 'p' : 'u').map((other, i) => ({ op: 'like' as const, postId: kind === 'user' ? other : target, userId: kind === 'user' ? target : other, at: 1_700_000_000_000 + (i % 7) }));
    const others = posts(20, 'p').map((postId) => ({ op: 'like' as const, postId, userId: 'stays', at: 1 }));
    await store.apply([...rows, ...others]);
    const redos: number[] = [];
    for (let commits = 1; ; commits++) {
      const place: MarkerPlace = { partition: 0, offset: commits - 1, partitions: 1 };
      const marker = newErasure(kind, target, 1);
      const { erasures, destroy } = crashing(ns, store, commits, 300);
      const crashed = await erasures.step(marker, place, 1000).then(
        () => false,
        (error: unknown) => {
          assert.match(String(error), /crashed/);
          return true;
        },
      );
      destroy();
      if (!crashed) {
        assert.ok(commits > 3, `a step of 250 rows is several transactions (${commits - 1})`);
        break;
      }
      // A crash after the last transaction left the part done and the position past the marker: ingest resumes past it.
      const stored = (await store.logPositions()).find((p) => p.partition === 0)?.offset ?? 0;
      redos.push(stored === place.offset + 1 ? 0 : await finish(store, marker, place, 1000));
      const status = await store.erasureStatus(kind, target);
      assert.equal(status?.status, 'applied', `crash after transaction ${commits}`);
      assert.equal(status.removed, 250, `crash after transaction ${commits}: every row counted once (${String(redos.at(-1))} by the redo)`);
      assert.equal((await store.likedPosts(target, ['p0', 'p1'])).size, 0);
      assert.deepEqual(kind === 'user' ? (await store.likesOf(target, 10, undefined)).items : (await store.likers(target, 10, undefined)).items, [], `crash after transaction ${commits}: no row left`);
      assert.equal((await store.likedPosts('stays', posts(20, 'p'))).size, 20, "another user's likes stay");
      await store.apply(rows);
    }
    t.diagnostic(`rows deleted by the redo after a crash at each transaction: ${redos.join(', ')}`);
  });
}

test('dynamodb: rows a stale by-user index still shows after their delete fail their condition and count nothing', async (t) => {
  const ns = await freshDynamoNamespace();
  t.after(() => ns.cleanup());
  const liked = posts(60, 'g');
  const store = await seeded(ns, 'eve', liked);
  const client = createDynamoClient(ns.settings);
  t.after(() => client.destroy());
  const names = dynamoTableNames(ns.namespace);
  const deps = { client, endpoint: ns.settings.endpoint, table: names.positions };
  // The index as a lagging GSI might answer: rows of posts the user never liked (or no longer has), first.
  const stale = async (userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage> => {
    const page = await store.likesOf(userId, limit, cursor);
    if (cursor !== undefined) return page;
    const ghosts = posts(5, 'ghost').map((postId) => ({ postId, likedAt: 1_800_000_000_000 }));
    return { items: [...ghosts, ...page.items], nextCursor: page.nextCursor };
  };
  const erasures = new DynamoErasures({ client, endpoint: ns.settings.endpoint, names, fence: new DynamoFence(deps, 'ingest', 'test'), locks: new DynamoPostLocks(deps), shards: SHARDS, leaseMs: 5000, lockWaitMs: 10_000, indexLagMs: 0, userLikes: stale });
  const marker = newErasure('user', 'eve', 1);
  let removed = 0;
  for (;;) {
    const step = await erasures.step(marker, { partition: 0, offset: 0, partitions: 1 }, 1000);
    removed += step.removed;
    if (step.done) break;
  }
  assert.equal(removed, 60);
  assert.equal((await erasures.status('user', 'eve'))?.removed, 60);
  assert.equal((await store.likedPosts('eve', liked)).size, 0);
  assert.equal((await store.likedPosts('stays', liked)).size, 20);
});

for (const indexLagMs of [0, 1500]) {
  test(`dynamodb: a like that reaches the by-user index 1 s late is ${indexLagMs > 0 ? 'erased when the part waits 1.5 s before scanning' : 'missed without the wait (the AWS risk the wait covers)'}`, async (t) => {
    const ns = await freshDynamoNamespace();
    t.after(() => ns.cleanup());
    const liked = posts(30, 'h');
    const store = await seeded(ns, 'eve', liked);
    const client = createDynamoClient(ns.settings);
    t.after(() => client.destroy());
    const names = dynamoTableNames(ns.namespace);
    const deps = { client, endpoint: ns.settings.endpoint, table: names.positions };
    // The index as AWS may answer right after ingest applied the events before the marker: the newest like not there yet.
    const visibleFrom = Date.now() + 1000;
    const lagging = async (userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage> => {
      const page = await store.likesOf(userId, limit, cursor);
      return Date.now() >= visibleFrom ? page : { ...page, items: page.items.filter((item) => item.postId !== 'h29') };
    };
    const erasures = new DynamoErasures({ client, endpoint: ns.settings.endpoint, names, fence: new DynamoFence(deps, 'ingest', 'test'), locks: new DynamoPostLocks(deps), shards: SHARDS, leaseMs: 5000, lockWaitMs: 10_000, indexLagMs, userLikes: lagging });
    const marker = newErasure('user', 'eve', 1);
    let removed = 0;
    let steps = 0;
    for (;;) {
      steps++;
      const step = await erasures.step(marker, { partition: 0, offset: 0, partitions: 1 }, 1000);
      removed += step.removed;
      if (step.done) break;
      await sleep(50);
    }
    const left = [...(await store.likedPosts('eve', liked))];
    assert.deepEqual(left, indexLagMs > 0 ? [] : ['h29']);
    assert.equal(removed, indexLagMs > 0 ? 30 : 29);
    assert.equal((await erasures.status('user', 'eve'))?.removed, removed);
    t.diagnostic(`${steps} steps, ${removed} removed`);
  });
}
