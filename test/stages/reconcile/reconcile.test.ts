import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import type { App } from '../../../src/composition/app.ts';
import { reconcile } from '../../../src/stages/reconcile/reconcile.ts';
import { drained } from '../../helpers/drain.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';
import { LikesModel } from '../../helpers/likes-model.ts';

const run = promisify(execFile);
const POSTS = ['rc0', 'rc1', 'rc2', 'rc3'];

async function counts(app: App): Promise<Record<string, number>> {
  const res = await app.api?.inject({ method: 'GET', url: `/v1/counts?posts=${POSTS.join(',')}` });
  return res?.json<{ counts: Record<string, number> }>().counts ?? {};
}

async function write(app: App, model: LikesModel, round: number): Promise<void> {
  const events = Array.from({ length: 40 }, (_, i) => ({
    op: (i + round) % 5 === 0 ? ('unlike' as const) : ('like' as const),
    postId: POSTS[(i + round) % POSTS.length] as string,
    userId: `u${(i * 31 + round * 17) % 150}`,
  }));
  const res = await app.api?.inject({ method: 'POST', url: '/v1/events', payload: { events } });
  assert.equal(res?.statusCode, 202);
  model.apply(events);
}

test('reconcile repairs counters corrupted in the store, exactly, while writes continue', async (t) => {
  const { app, dir } = await startEmbedded(t, { pipelineThread: false });
  const model = new LikesModel();
  for (let round = 0; round < 10; round++) await write(app, model, round);
  await drained(app);
  assert.deepEqual(await counts(app), Object.fromEntries(POSTS.map((p) => [p, model.counts().get(p) ?? 0])));

  // Corrupt two counters behind the pipeline's back, as a bug or a bad restore would.
  const direct = new SqliteDatabase(dir);
  direct.connection.prepare("UPDATE counts SET count = count + 7 WHERE post_id = 'rc0'").run();
  direct.connection.prepare("UPDATE counts SET count = 0 WHERE post_id = 'rc1'").run();
  direct.close();
  for (let round = 10; round < 12; round++) await write(app, model, round);
  await drained(app);
  const wrong = await counts(app);
  assert.equal(wrong.rc0, (model.counts().get('rc0') ?? 0) + 7, 'the corruption is visible before reconcile');
  assert.notEqual(wrong.rc1, model.counts().get('rc1'));

  // Reconcile (in process, every post; and the CLI for one post) while a writer keeps going.
  let writing = true;
  const writer = (async () => {
    for (let round = 12; writing || round < 40; round++) await write(app, model, round);
  })();
  const inProcess = await reconcile(app.ports.likes, 'all', app.metrics);
  assert.equal(inProcess.postsRecounted, POSTS.length);
  const cli = await run(process.execPath, ['src/cli/main.ts', 'reconcile', '--post', 'rc1', '--data', dir], { cwd: new URL('../../../', import.meta.url).pathname });
  assert.match(cli.stdout, /^rc1\t\d+$/m);
  assert.match(cli.stdout, /recounted 1 post/);
  writing = false;
  await writer;
  // The CLI wrote into the file from another process: the counter picks it up on its next poll.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await drained(app);

  const expected = Object.fromEntries(POSTS.map((p) => [p, model.counts().get(p) ?? 0]));
  assert.deepEqual(await counts(app), expected, 'counts equal the model');
  for (const p of POSTS) {
    const rows = await app.api?.inject({ method: 'GET', url: `/v1/posts/${p}/likes?limit=1000` });
    assert.equal(rows?.json<{ items: unknown[] }>().items.length, expected[p], `rows of ${p}`);
  }
  const repaired = (await app.metrics.driftRepaired.get()).values[0]?.value ?? 0;
  assert.ok(repaired >= 2, `drift repairs counted: ${repaired}`);
});

// Issue 11: above, an in-process reconcile already repairs every post, so the CLI's effect is
// invisible. Here only `./tally reconcile --post` runs, against one corrupted post.
test('./tally reconcile --post repairs the named post from another process, and only that post', async (t) => {
  const { app, dir } = await startEmbedded(t, { pipelineThread: false });
  const model = new LikesModel();
  for (let round = 0; round < 6; round++) await write(app, model, round);
  await drained(app);
  const direct = new SqliteDatabase(dir);
  direct.connection.prepare("UPDATE counts SET count = count + 5 WHERE post_id IN ('rc2', 'rc3')").run();
  direct.close();
  // Writes to every post carry the corrupted base into the cache.
  for (let round = 6; round < 8; round++) await write(app, model, round);
  await drained(app);
  const exact = (p: string): number => model.counts().get(p) ?? 0;
  const before = await counts(app);
  assert.equal(before.rc2, exact('rc2') + 5, 'rc2 is corrupted before the CLI runs');

  const cli = await run(process.execPath, ['src/cli/main.ts', 'reconcile', '--post', 'rc2', '--data', dir], { cwd: new URL('../../../', import.meta.url).pathname });
  assert.match(cli.stdout, new RegExp(`^rc2\\t${exact('rc2')}$`, 'm'));
  // A write to each post makes the counter poll and push fresh counts to the cache.
  for (let round = 8; round < 10; round++) await write(app, model, round);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await drained(app);
  const after = await counts(app);
  assert.equal(after.rc2, exact('rc2'), 'the CLI recount repaired rc2');
  assert.equal(after.rc3, exact('rc3') + 5, 'rc3, not named, keeps its drift: the CLI did only what it was asked');
});
