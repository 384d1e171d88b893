import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LikesModel } from '../helpers/likes-model.ts';
import { startServer, type ServerProcess } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';

const POSTS = 20;
const USERS = 300;
const KILLS = 6;

type Event = { op: 'like' | 'unlike'; postId: string; userId: string };

function randomBatch(size: number): Event[] {
  return Array.from({ length: size }, () => ({
    op: Math.random() < 0.75 ? 'like' : 'unlike',
    postId: `p${Math.floor(Math.random() * POSTS)}`,
    userId: `u${Math.floor(Math.random() * USERS)}`,
  }));
}

async function post(url: string, events: Event[]): Promise<number> {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  await res.arrayBuffer();
  return res.status;
}

test('kill -9 at random moments under a stream of writes: after restart and drain, counts equal rows and the model', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['serve', '--port', '0', '--data', dir, '--log-level', 'error', '--reconcile-interval-ms', '0'];
  const model = new LikesModel();
  let acknowledged = 0;
  let server: ServerProcess = await startServer(args);
  t.after(() => server.child.kill('SIGKILL'));

  for (let kill = 0; kill < KILLS; kill++) {
    let inFlight: Event[] | undefined;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const batch = randomBatch(250);
        inFlight = batch;
        let status: number;
        try {
          status = await post(server.url, batch);
        } catch {
          return; // the server died under this request: it may or may not have landed
        }
        assert.equal(status, 202);
        model.apply(batch);
        acknowledged += batch.length;
        inFlight = undefined;
      }
    })();
    await sleep(150 + Math.random() * 900);
    server.child.kill('SIGKILL');
    await server.exited;
    stop = true;
    await writer;
    server = await startServer(args);
    // An unacknowledged in-flight batch may have landed or not: resending it makes the outcome defined.
    if (inFlight !== undefined) {
      assert.equal(await post(server.url, inFlight), 202);
      model.apply(inFlight);
    }
  }
  assert.ok(acknowledged > 1000, `enough acknowledged writes to matter: ${acknowledged}`);

  const expected = model.counts();
  const ids = Array.from({ length: POSTS }, (_, p) => `p${p}`);
  let last: Record<string, number> = {};
  await eventually('counts equal to the model', 30_000, async () => {
    const res = await fetch(`${server.url}/v1/counts?posts=${ids.join(',')}`);
    last = ((await res.json()) as { counts: Record<string, number> }).counts;
    return ids.every((id) => last[id] === (expected.get(id) ?? 0)) ? true : undefined;
  }).catch((error: unknown) => {
    throw new Error(`${String(error)}; served ${JSON.stringify(last)}, model ${JSON.stringify(Object.fromEntries(expected))}`);
  });

  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0, 'SIGTERM drains and exits 0');

  const db = new DatabaseSync(join(dir, 'tally.db'), { readOnly: true });
  t.after(() => db.close());
  const rows = new Map((db.prepare('SELECT post_id, COUNT(*) AS n FROM likes GROUP BY post_id').all() as { post_id: string; n: number }[]).map((r) => [r.post_id, r.n]));
  const stored = new Map((db.prepare('SELECT post_id, count FROM counts').all() as { post_id: string; count: number }[]).map((r) => [r.post_id, r.count]));
  for (const id of ids) {
    assert.equal(rows.get(id) ?? 0, expected.get(id) ?? 0, `likes rows of ${id} equal the model`);
    assert.equal(stored.get(id) ?? 0, rows.get(id) ?? 0, `counter of ${id} equals its rows`);
  }
});
