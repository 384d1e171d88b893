import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgLikesStore } from '../../../src/adapters/postgres/pg-likes-store.ts';
import { pgNames } from '../../../src/adapters/postgres/pg-schema.ts';
import { createPool } from '../../../src/adapters/postgres/pg-client.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { shardOf } from '../../../src/domain/hash.ts';
import { namespaceFor, PG_URL } from './pg-fixture.ts';

let clock = 1_700_000_000_000;
const like = (postId: string, userId: string): LikeEvent => ({ op: 'like', postId, userId, at: clock++ });
const unlike = (postId: string, userId: string): LikeEvent => ({ op: 'unlike', postId, userId, at: clock++ });

async function rows(namespace: string): Promise<{ post_id: string; shard: number; user_id: string }[]> {
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    return (await pool.query<{ post_id: string; shard: number; user_id: string }>(`SELECT post_id, shard, user_id FROM ${pgNames(namespace).likes} ORDER BY post_id, user_id`)).rows;
  } finally {
    await pool.end();
  }
}

test('apply: idempotent, last event per pair wins, changed counts only real row changes', async (t) => {
  const ns = await namespaceFor(t);
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4 }));
  await likes.init();
  assert.equal((await likes.apply([like('p1', 'u1'), like('p1', 'u2'), like('p2', 'u1')])).changed, 3);
  assert.equal((await likes.apply([like('p1', 'u1'), like('p1', 'u2')])).changed, 0, 'duplicate likes change nothing');
  assert.equal((await likes.apply([unlike('p3', 'u1')])).changed, 0, 'unliking what was never liked changes nothing');
  assert.equal((await likes.apply([like('p1', 'u1'), unlike('p1', 'u1'), like('p1', 'u1')])).changed, 0, 'like → unlike → like of a liked pair: still liked, no change');
  assert.equal((await likes.apply([unlike('p1', 'u2'), like('p1', 'u2'), unlike('p1', 'u2')])).changed, 1, 'ends unliked: one delete');
  assert.equal((await likes.apply([like('p4', 'u7'), unlike('p4', 'u7')])).changed, 0, 'like then unlike of an absent pair: nothing');
  assert.equal((await likes.apply([])).changed, 0);
  assert.deepEqual(await rows(ns.namespace), [
    { post_id: 'p1', shard: shardOf('u1', 4), user_id: 'u1' },
    { post_id: 'p2', shard: shardOf('u1', 4), user_id: 'u1' },
  ]);
  assert.deepEqual([...(await likes.likedPosts('u1', ['p1', 'p2', 'p3', 'p4']))].sort(), ['p1', 'p2']);
  assert.deepEqual([...(await likes.likedPosts('u2', ['p1']))], []);
  assert.deepEqual([...(await likes.likedPosts('u1', []))], []);
});

test('apply: a batch of 5,000 events over many posts is one transaction of set-based statements', async (t) => {
  const ns = await namespaceFor(t);
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 16 }));
  await likes.init();
  const batch = Array.from({ length: 5000 }, (_, i) => like(`p${i % 3000}`, `u${i}`));
  assert.equal((await likes.apply(batch)).changed, 5000);
  const second = batch.map((e, i) => (i % 2 === 0 ? unlike(e.postId, e.userId) : e));
  assert.equal((await likes.apply(second)).changed, 2500);
  assert.equal((await rows(ns.namespace)).length, 2500);
  assert.deepEqual([...(await likes.recount(['p1', 'p2']))], [['p1', 2], ['p2', 0]], 'p1 kept u1 and u3001 (odd), p2 lost u2 and u3002 (even)');
});

test('likers are newest first with ties broken by user id; the cursor resumes exactly', async (t) => {
  const ns = await namespaceFor(t);
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4 }));
  await likes.init();
  const at = 1_800_000_000_000;
  await likes.apply([
    { op: 'like', postId: 'p', userId: 'b', at },
    { op: 'like', postId: 'p', userId: 'a', at },
    { op: 'like', postId: 'p', userId: 'c', at: at + 5 },
    { op: 'like', postId: 'p', userId: 'd', at: at - 5 },
  ]);
  const first = await likes.likers('p', 2, undefined);
  assert.deepEqual(first.items, [{ userId: 'c', likedAt: at + 5 }, { userId: 'a', likedAt: at }]);
  assert.ok(first.nextCursor !== undefined);
  const second = await likes.likers('p', 2, first.nextCursor);
  assert.deepEqual(second.items.map((i) => i.userId), ['b', 'd']);
  assert.equal(second.nextCursor, undefined);
});

test('recount counts rows per post (0 for none) and postsAfter pages in byte order', async (t) => {
  const ns = await namespaceFor(t);
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4 }));
  await likes.init();
  await likes.apply([like('b', 'u1'), like('b', 'u2'), like('B', 'u1'), like('_x', 'u1'), like('a-1', 'u1')]);
  const counts = await likes.recount(['b', 'B', 'none', 'b']);
  assert.deepEqual([...counts].sort(), [['B', 1], ['b', 2], ['none', 0]]);
  // Ids are compared as bytes ("C" collation), like the embedded store does.
  assert.deepEqual(await likes.postsAfter('', 10), ['B', '_x', 'a-1', 'b']);
  assert.deepEqual(await likes.postsAfter('B', 2), ['_x', 'a-1']);
});

test('a store not initialised, or closed, refuses with not_ready', async () => {
  const likes = new PgLikesStore({ url: PG_URL, namespace: 'tally_never_created', shards: 4 });
  await assert.rejects(likes.apply([like('p', 'u')]), { code: 'not_ready' });
  await likes.init();
  await likes.close();
  await assert.rejects(likes.likers('p', 1, undefined), { code: 'not_ready' });
});

test('a connection killed by the server surfaces as retriable backend_unavailable at most once; the pool recovers', async (t) => {
  const ns = await namespaceFor(t);
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4, maxConnections: 1 }));
  await likes.init();
  await likes.apply([like('p', 'u1')]);
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    const killed = await pool.query<{ killed: boolean }>(`SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1`, [`tally-likes-${ns.namespace}`]);
    assert.deepEqual(killed.rows, [{ killed: true }], 'the store\'s one connection was terminated');
  } finally {
    await pool.end();
  }
  // The pool may notice the dead connection before the next query (then no error surfaces) or
  // on it (then one retriable error); either way the retry succeeds.
  let surfaced = 0;
  try {
    await likes.apply([like('p', 'u2')]);
  } catch (error) {
    surfaced++;
    assert.equal((error as { code?: string }).code, 'backend_unavailable');
    assert.equal((error as { retriable?: boolean }).retriable, true);
    await likes.apply([like('p', 'u2')]);
  }
  assert.ok(surfaced <= 1);
  assert.deepEqual([...(await likes.recount(['p']))], [['p', 2]]);
});
