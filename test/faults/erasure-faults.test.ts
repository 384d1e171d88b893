/**
 * kill -9 in the middle of erasing a user with 20,000 likes: of the embedded server, and of each
 * distributed stage (api, ingest, cdc, counter) on the PostgreSQL profile, while other users keep
 * writing. Afterwards the erasure completes (status `applied`, exactly 20,000 removed), the user
 * has no row left, and every count equals its rows per (post, user) pair; the other writers' model
 * is checked by FaultCluster.verifyExact. Only Tally's own processes are killed, never a server,
 * so this file may run beside other tests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErasureClient } from '../helpers/erasure-client.ts';
import { LikesModel } from '../helpers/likes-model.ts';
import { startServer, type ServerProcess } from '../helpers/server-process.ts';
import { eraseUnderKills, erasureApplied, erasureMidway, seedVictim, type ErasureRound } from './erasure-rounds.ts';
import { FaultCluster, type StageKind } from './fault-cluster.ts';
import { postgresTables } from './postgres-inspector.ts';

const ROUND: ErasureRound = { likes: 20_000, shared: 2_000 };
const LIKES = ROUND.likes;

test(`kill -9 of the embedded server while erasing a user with ${LIKES} likes: the erasure completes, counts are exact per pair`, { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-erasure-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['serve', '--port', '0', '--data', dir, '--log-level', 'error', '--reconcile-interval-ms', '0', '--erase-batch', '100'];
  let server: ServerProcess = await startServer(args);
  t.after(() => server.child.kill('SIGKILL'));
  const client = new ErasureClient(() => server.url);
  const posts = await seedVictim(client, ROUND, 'e', 'victim');
  const model = new LikesModel();
  model.apply(posts.map((postId) => ({ op: 'like', postId, userId: 'victim' })));
  model.apply(posts.slice(0, ROUND.shared).map((postId) => ({ op: 'like', postId, userId: 'victim-keeper' })));
  await client.accepted('DELETE', '/v1/users/victim/likes');
  model.apply(posts.map((postId) => ({ op: 'unlike', postId, userId: 'victim' })));
  // Other traffic through the erasure and the kill: a bystander liking and unliking the same posts,
  // and the erased user liking again (sent after the 202: these stay). One request at a time, a
  // failed one resent until acknowledged, so the model follows the acknowledged order.
  let writing = true;
  let sentRequests = 0;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const events = Array.from({ length: 40 }, (_, k) => {
        const n = (i * 40 + k) * 7919;
        if (k % 4 === 3) return { op: 'like' as const, postId: `e${(n % (LIKES / 4)) * 4}`, userId: 'victim' };
        return { op: k % 4 === 2 ? ('unlike' as const) : ('like' as const), postId: `e${n % 3000}`, userId: 'bystander' };
      });
      for (;;) {
        const res = await client.call('POST', '/v1/events', { events }).catch(() => undefined);
        if (res?.status === 202) break;
        await sleep(100);
      }
      model.apply(events);
      sentRequests++;
    }
  })();
  const at = await erasureMidway(client, ROUND, 'victim');
  server.child.kill('SIGKILL');
  assert.equal(await server.exited, 'SIGKILL');
  server = await startServer(args);
  const status = await erasureApplied(client, 'victim', 90_000);
  writing = false;
  await writer;
  // A later write applied means the counter has counted what came before it.
  await client.accepted('PUT', '/v1/posts/e1/likes/late?wait=applied');
  model.apply([{ op: 'like', postId: 'e1', userId: 'late' }]);
  t.diagnostic(`killed after ${at} of ${LIKES} removed; then ${String(status.partitionsDone)}/${String(status.partitionsTotal)} partitions applied, ${String(status.removed)} removed; ${sentRequests} concurrent requests of 40 events`);
  assert.ok(Number(status.removed) <= LIKES, 'nothing removed twice');

  const db = new DatabaseSync(join(dir, 'tally.db'), { readOnly: true });
  try {
    const rows = db.prepare('SELECT post_id, user_id FROM likes').all() as { post_id: string; user_id: string }[];
    const stored = new Set(rows.map((r) => `${r.post_id}\u0000${r.user_id}`));
    const users = ['victim', 'victim-keeper', 'bystander', 'late'];
    const wrongPairs = posts.flatMap((p) => users.filter((u) => model.liked(p, u) !== stored.has(`${p}\u0000${u}`)).map((u) => `${p}/${u}: model ${String(model.liked(p, u))}`));
    assert.deepEqual(wrongPairs.slice(0, 10), [], 'every (post, user) pair equals the model: erased likes gone, later likes kept');
    assert.ok(rows.some((r) => r.user_id === 'victim'), 'the likes the user gave after the erasure stay');
    const perPost = new Map<string, number>();
    for (const r of rows) perPost.set(r.post_id, (perPost.get(r.post_id) ?? 0) + 1);
    const counts = new Map((db.prepare('SELECT post_id, count FROM counts').all() as { post_id: string; count: number }[]).map((r) => [r.post_id, r.count]));
    const wrong = posts.filter((p) => (counts.get(p) ?? 0) !== (perPost.get(p) ?? 0));
    assert.deepEqual(wrong.slice(0, 10), [], 'every count equals its rows');
    const served = await client.counts(posts);
    assert.deepEqual(posts.filter((p) => served.get(p) !== (model.counts().get(p) ?? 0)).slice(0, 10), [], 'the API serves the model');
  } finally {
    db.close();
  }
});

const cluster = new FaultCluster({
  name: 'erasure',
  store: 'postgres',
  inspector: postgresTables,
  flags: ['--erase-batch', '200', '--hot-shards', '2'],
  writers: [{ mode: 'bulk', batchSize: 50, pauseMs: 50 }],
  recoveryMs: 60_000,
  // Dynamic group members here (the default configuration): a restarted ingest or counter waits
  // for the broker to drop the dead member. The other fault tests restart static members.
  staticMembers: false,
});
let passed = 0;
after(async () => {
  await cluster.stop(passed === 2);
});

test(`distributed: kill -9 of api, ingest, cdc and counter, each while erasing a user with ${LIKES} likes: each erasure completes, counts are exact per pair`, { timeout: 240_000 }, async (t) => {
  await cluster.start();
  const kinds = (process.env.ERASURE_KILLS?.split(',') ?? ['ingest', 'counter', 'cdc', 'api']) as StageKind[];
  await eraseUnderKills(t, { cluster, inspector: postgresTables, round: ROUND, kinds, appliedTimeoutMs: 90_000 });
  passed++;
});

test('distributed: the other writers lost nothing and every count equals its rows', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
