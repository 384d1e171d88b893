/**
 * kill -9 of a real embedded `./tally serve` at random moments under four concurrent writers (two
 * bulk, two single likes), each writing as its own users over a moving window of posts, so a
 * write lost at a kill is never repaired by a later one. A write without a 202 is resent until it
 * gets one, so every write's outcome is defined. After the last restart and drain: every
 * (post, user) pair's row equals the model's acknowledged state, and every count equals its rows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SteadyWriter, WriterGroup } from '../faults/steady-writer.ts';
import { LikesModel } from '../helpers/likes-model.ts';
import { startServer, type ServerProcess } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';

const KILLS = 8;

test(`kill -9 of the embedded server ${KILLS} times under four concurrent writers: no acknowledged write is lost, counts equal rows`, { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['serve', '--port', '0', '--data', dir, '--log-level', 'error', '--reconcile-interval-ms', '0'];
  const model = new LikesModel();
  let server: ServerProcess | undefined = await startServer(args);
  t.after(() => server?.child.kill('SIGKILL'));
  const url = (): string => {
    if (server === undefined) throw new Error('the server is down');
    return server.url;
  };
  const shared = { posts: 20, users: 80, pauseMs: 5, retryPauseMs: 100, inFlightDeadlineMs: 60_000, requestTimeoutMs: 10_000 };
  const writers = new WriterGroup([
    new SteadyWriter(url, model, { ...shared, mode: 'bulk', userPrefix: 'a', batchSize: 150, shiftEvery: 12 }),
    new SteadyWriter(url, model, { ...shared, mode: 'bulk', userPrefix: 'b', batchSize: 150, shiftEvery: 12 }),
    new SteadyWriter(url, model, { ...shared, mode: 'single', userPrefix: 'c', batchSize: 10, shiftEvery: 60 }),
    new SteadyWriter(url, model, { ...shared, mode: 'single', userPrefix: 'd', batchSize: 10, shiftEvery: 60 }),
  ]);
  writers.start();
  const recoveries: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    await sleep(300 + Math.random() * 900);
    writers.check();
    const victim: ServerProcess = server;
    server = undefined;
    victim.child.kill('SIGKILL');
    assert.equal(await victim.exited, 'SIGKILL');
    const started = Date.now();
    server = await startServer(args);
    const before = writers.acknowledgedEvents;
    await eventually('writes acknowledged again', 30_000, () => (writers.acknowledgedEvents > before ? true : undefined), 10);
    recoveries.push(Date.now() - started);
  }
  await writers.stop();
  t.diagnostic(`${KILLS} kill -9; recovery (restart until the next acknowledged write) ms: ${recoveries.join(', ')}`);
  t.diagnostic(writers.summary());
  assert.ok(writers.acknowledgedEvents > 2000, `enough acknowledged writes to matter: ${writers.acknowledgedEvents}`);

  const posts = writers.postIds();
  const expected = model.counts();
  let last: Record<string, number> = {};
  await eventually('counts equal to the model', 30_000, async () => {
    const res = await fetch(`${url()}/v1/counts?posts=${posts.join(',')}`);
    last = ((await res.json()) as { counts: Record<string, number> }).counts;
    return posts.every((id) => last[id] === (expected.get(id) ?? 0)) ? true : undefined;
  }).catch((error: unknown) => {
    throw new Error(`${String(error)}; served ${JSON.stringify(last)}, model ${JSON.stringify(Object.fromEntries(expected))}`);
  });
  const live = server;
  live.child.kill('SIGTERM');
  assert.equal(await live.exited, 0, 'SIGTERM drains and exits 0');
  server = undefined;

  const db = new DatabaseSync(join(dir, 'tally.db'), { readOnly: true });
  t.after(() => db.close());
  const pairs = new Set((db.prepare('SELECT post_id, user_id FROM likes').all() as { post_id: string; user_id: string }[]).map((r) => `${r.post_id}/${r.user_id}`));
  const stored = new Map((db.prepare('SELECT post_id, count FROM counts').all() as { post_id: string; count: number }[]).map((r) => [r.post_id, r.count]));
  const lost: string[] = [];
  const ghosts: string[] = [];
  for (const postId of posts) {
    for (const userId of writers.userIds()) {
      const row = pairs.has(`${postId}/${userId}`);
      if (model.liked(postId, userId) && !row) lost.push(`${postId}/${userId}`);
      if (!model.liked(postId, userId) && row) ghosts.push(`${postId}/${userId}`);
    }
    const rows = [...pairs].filter((p) => p.startsWith(`${postId}/`)).length;
    assert.equal(stored.get(postId) ?? 0, rows, `counter of ${postId} equals its rows`);
  }
  t.diagnostic(`acknowledged events ${writers.acknowledgedEvents}, lost ${lost.length}, rows the model lacks ${ghosts.length}, ${posts.length} posts, ${pairs.size} rows`);
  assert.deepEqual(lost, [], 'every acknowledged like has its row');
  assert.deepEqual(ghosts, [], 'every acknowledged unlike removed its row');
});
