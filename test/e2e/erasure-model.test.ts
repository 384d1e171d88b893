/**
 * Erasures against an independent model, in both modes, through real server processes: random
 * likes, unlikes, user erasures and post erasures, each step waiting for `applied`; after every
 * step the likers lists, the Likes tabs and the counts equal the model's. Then the concurrency rules: likes by a
 * user racing its erasure (acknowledged before the request → gone; sent after its 202 → stay),
 * and a reconcile running during an erasure changes nothing in the final counts. Distributed runs
 * on PostgreSQL (`distributed`), DynamoDB (`dynamodb`, moto) and Cassandra (`distributed-cassandra`,
 * --hot-shards 1 as that profile needs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { mulberry32, randomInt } from '../../bench/prng.ts';
import { CONTACT_POINTS } from '../adapters/cassandra/cassandra-fixture.ts';
import { DYNAMODB_ENDPOINT } from '../adapters/dynamodb/dynamo-fixture.ts';
import { ErasureClient } from '../helpers/erasure-client.ts';
import { distributedNamespace, dropDistributedNamespace, serverFlags } from '../helpers/distributed-namespace.ts';
import { LikesModel } from '../helpers/likes-model.ts';
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';

/** `distributed` is the PostgreSQL profile; `dynamodb` the distributed mode on `--store dynamodb` (moto). */
type Mode = 'embedded' | 'distributed' | 'dynamodb' | 'distributed-cassandra';

/**
 * Each distributed mode's store profile: the flags that reach its stores (also given to
 * `./tally reconcile`), and the server's own. Few shards per post on the emulator: it answers one
 * query at a time, and a likers read or a recount queries every shard.
 */
const STORES = {
  distributed: { store: 'postgres', flags: [], serve: ['--hot-shards', '2'] },
  dynamodb: { store: 'dynamodb', flags: ['--store', 'dynamodb', '--dynamodb-endpoint', DYNAMODB_ENDPOINT, '--likes-shards', '2'], serve: ['--hot-shards', '2', '--wait-applied-ms', '30000'] },
  'distributed-cassandra': { store: 'cassandra', flags: ['--store', 'cassandra', '--cassandra-contact-points', CONTACT_POINTS], serve: ['--hot-shards', '1'] },
} as const;

const run = promisify(execFile);

const COMMON = ['--user-likes', 'public', '--port', '0', '--log-level', process.env.ERASURE_LOG ?? 'error', '--erase-batch', '13', '--partitions', '4'];

/** A running server, and the flags that reach its stores (distributed modes; empty when embedded). */
type Started = ServerProcess & { readonly storeFlags: readonly string[] };

async function start(t: { after: (fn: () => Promise<void>) => void }, mode: Mode, extra: string[] = []): Promise<Started> {
  if (mode === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'tally-erasure-'));
    const server = await startServer(['serve', '--data', dir, ...COMMON, ...extra]);
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    });
    return { ...server, storeFlags: [] };
  }
  const ns = distributedNamespace();
  const { store, flags, serve } = STORES[mode];
  const storeFlags = ['--distributed', ...serverFlags(ns), ...flags];
  const server = await startServer(['serve', ...storeFlags, ...serve, ...COMMON, ...extra], {}, 120_000);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await dropDistributedNamespace(ns, store);
  });
  return { ...server, storeFlags };
}

/** The model's view of one post's likers. */
function modelLikers(model: LikesModel, postId: string, users: readonly string[]): string[] {
  return users.filter((u) => model.liked(postId, u)).sort();
}

for (const mode of ['embedded', 'distributed', 'dynamodb', 'distributed-cassandra'] as const) {
  test(`${mode}: random likes, unlikes, user and post erasures: likers, Likes tabs and counts equal the model after every applied step`, { timeout: 200_000 }, async (t) => {
    const server = await start(t, mode, ['--reconcile-interval-ms', '0']);
    const client = new ErasureClient(server.url);
    const random = mulberry32({ embedded: 15, distributed: 1515, dynamodb: 151515, 'distributed-cassandra': 151515 }[mode]);
    const posts = Array.from({ length: 10 }, (_, i) => `mp${i}`);
    const users = Array.from({ length: 8 }, (_, i) => `mu${i}`);
    const model = new LikesModel();
    const steps = { writes: 0, userErasures: 0, postErasures: 0 };
    // The emulator answers one request at a time: fewer steps there, to stay within a minute.
    for (let step = 0; step < (mode === 'dynamodb' ? 12 : 24); step++) {
      const roll = random();
      if (roll < 0.6) {
        const events = Array.from({ length: 25 }, () => ({ op: random() < 0.75 ? ('like' as const) : ('unlike' as const), postId: posts[randomInt(random, posts.length)] as string, userId: users[randomInt(random, users.length)] as string }));
        await client.write(events);
        model.apply(events);
        steps.writes++;
      } else if (roll < 0.8) {
        const userId = users[randomInt(random, users.length)] as string;
        await client.accepted('DELETE', `/v1/users/${userId}/likes?wait=applied`);
        model.apply(posts.map((postId) => ({ op: 'unlike' as const, postId, userId })));
        const status = await client.erasure(userId);
        assert.equal(status.status, 'applied');
        steps.userErasures++;
      } else {
        const postId = posts[randomInt(random, posts.length)] as string;
        await client.accepted('DELETE', `/v1/posts/${postId}/likes?wait=applied`);
        model.apply(users.map((userId) => ({ op: 'unlike' as const, postId, userId })));
        steps.postErasures++;
      }
      const counts = await client.counts(posts);
      for (const postId of posts) {
        assert.equal(counts.get(postId) ?? 0, model.counts().get(postId) ?? 0, `step ${step}: count of ${postId}`);
        assert.deepEqual(await client.likers(postId), modelLikers(model, postId, users), `step ${step}: likers of ${postId}`);
      }
      for (const userId of users) assert.deepEqual(await client.likesTab(userId), model.postsOf(userId), `step ${step}: Likes tab of ${userId}`);
    }
    t.diagnostic(`steps: ${JSON.stringify(steps)}`);
    assert.ok(steps.userErasures > 0 && steps.postErasures > 0, 'both kinds of erasure were exercised');
  });

  test(`${mode}: likes racing the user's erasure follow the rule; a reconcile during the erasure changes nothing`, { timeout: 200_000 }, async (t) => {
    // On the emulator a full reconcile holds every post's lock bucket for seconds (see the DynamoDB
    // fault test): one `./tally reconcile` run, started with the erasure, instead of one every 50 ms;
    // fewer posts and larger erase steps.
    const dynamo = mode === 'dynamodb';
    const server = await start(t, mode, dynamo ? ['--reconcile-interval-ms', '0', '--erase-batch', '50'] : ['--reconcile-interval-ms', '50']);
    const client = new ErasureClient(server.url);
    const before = Array.from({ length: dynamo ? 100 : 300 }, (_, i) => `rb${i}`);
    await client.write([...before.map((postId) => ({ op: 'like' as const, postId, userId: 'racer' })), ...before.map((postId) => ({ op: 'like' as const, postId, userId: 'other' }))]);
    // Likes on fresh posts, one at a time, while the erasure is sent: each like's send and ack times.
    const racing: { postId: string; sentAt: number; ackedAt: number }[] = [];
    let stop = false;
    const liker = (async () => {
      for (let i = 0; !stop && i < (dynamo ? 120 : 400); i++) {
        const postId = `rr${i}`;
        const sentAt = performance.now();
        await client.accepted('PUT', `/v1/posts/${postId}/likes/racer`);
        racing.push({ postId, sentAt, ackedAt: performance.now() });
      }
    })();
    await eventually('some racing likes', 10_000, () => (racing.length >= 20 ? true : undefined), 5);
    const erasureSent = performance.now();
    await client.accepted('DELETE', '/v1/users/racer/likes');
    const erasureAcked = performance.now();
    const reconciling = dynamo
      ? run(process.execPath, ['src/cli/main.ts', 'reconcile', ...server.storeFlags, '--log-level', 'error'], { cwd: REPO_ROOT }).then(
          (done) => done.stdout.trim(),
          (error: unknown) => new Error(`./tally reconcile during the erasure failed: ${String(error)}`),
        )
      : undefined;
    await eventually('more racing likes after the erasure', 20_000, () => (racing.some((r) => r.sentAt > erasureAcked + 5) && racing.length >= 60 ? true : undefined), 5);
    stop = true;
    await liker;
    let last: Record<string, unknown> = {};
    await eventually('the erasure applied', 60_000, async () => ((last = await client.erasure('racer')).status === 'applied' ? true : undefined), 50).catch((error: unknown) => {
      throw new Error(`${String(error)}; last status ${JSON.stringify(last)}`);
    });
    const reconciled = await reconciling;
    if (reconciled instanceof Error) throw reconciled;
    // Everything sent is applied once a later write has been (one partition order per post: wait on each).
    await client.write(racing.map((r) => ({ op: 'like' as const, postId: r.postId, userId: 'sentinel' })));

    // The erasure's status says its rows are gone; their count changes may still be on their way
    // through the change feed (only DELETE ?wait=applied waits for the counts). A count that stays
    // wrong still fails below.
    await eventually('the erased likes counted', 30_000, async () => {
      const now = await client.counts(before);
      return before.every((postId) => now.get(postId) === 1) ? true : undefined;
    }, 50).catch(() => undefined);
    const allPosts = [...before, ...racing.map((r) => r.postId)];
    const counts = await client.counts(allPosts);
    for (const postId of before) assert.equal(counts.get(postId), 1, `${postId}: only "other" remains`);
    let gone = 0;
    let stayed = 0;
    for (const r of racing) {
      const liked = (await client.call('GET', `/v1/posts/${r.postId}/likes/racer`)).body.liked as boolean;
      if (r.ackedAt < erasureSent) assert.equal(liked, false, `${r.postId} was acknowledged before the erasure was sent: removed`);
      if (r.sentAt > erasureAcked) assert.equal(liked, true, `${r.postId} was sent after the erasure's 202: stays`);
      if (liked) stayed++;
      else gone++;
      assert.equal(counts.get(r.postId), liked ? 2 : 1, `${r.postId}: count equals its rows`);
    }
    const status = await client.erasure('racer');
    assert.equal(status.removed, before.length + gone, 'removed = likes before + racing likes it took');
    t.diagnostic(`racing likes: ${racing.length}, removed by the erasure ${gone}, stayed ${stayed}; removed in all ${String(status.removed)}${reconciled === undefined ? '' : `; ${reconciled}`}`);
  });
}
