import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { App } from '../../src/composition/app.ts';
import type { LikeOp } from '../../src/domain/like-event.ts';
import { drained } from '../helpers/drain.ts';
import { startEmbedded } from '../helpers/embedded-app.ts';
import { LikesModel } from '../helpers/likes-model.ts';

interface Op {
  readonly op: LikeOp;
  readonly post: number;
  readonly user: number;
  readonly via: 'single' | 'bulk';
  readonly wait: boolean;
  readonly repeat: boolean;
}

function api(app: App) {
  const server = app.api;
  if (server === undefined) throw new Error('no api');
  return server;
}

/** Sends ops in order: runs of bulk ops become one POST /v1/events, others one PUT/DELETE each; `repeat` sends a duplicate. */
async function send(app: App, ops: readonly Op[], prefix: string): Promise<void> {
  let bulk: Op[] = [];
  const flush = async (): Promise<void> => {
    if (bulk.length === 0) return;
    const events = bulk.flatMap((o) => {
      const e = { op: o.op, postId: `${prefix}p${o.post}`, userId: `u${o.user}` };
      return o.repeat ? [e, e] : [e];
    });
    const res = await api(app).inject({ method: 'POST', url: `/v1/events${bulk.some((o) => o.wait) ? '?wait=applied' : ''}`, payload: { events } });
    assert.equal(res.statusCode, 202, res.body);
    bulk = [];
  };
  for (const o of ops) {
    if (o.via === 'bulk') {
      bulk.push(o);
      continue;
    }
    await flush();
    const times = o.repeat ? 2 : 1;
    for (let i = 0; i < times; i++) {
      const res = await api(app).inject({
        method: o.op === 'like' ? 'PUT' : 'DELETE',
        url: `/v1/posts/${prefix}p${o.post}/likes/u${o.user}${o.wait ? '?wait=applied' : ''}`,
      });
      assert.equal(res.statusCode, 202, res.body);
      if (o.wait) assert.equal(res.json<{ applied: boolean }>().applied, true);
    }
  }
  await flush();
}

async function assertMatchesModel(app: App, model: LikesModel, prefix: string, posts: number, users: number): Promise<void> {
  const expected = model.counts();
  const ids = Array.from({ length: posts }, (_, p) => `${prefix}p${p}`);
  for (const viewer of Array.from({ length: users }, (_, u) => `u${u}`)) {
    const res = await api(app).inject({ method: 'GET', url: `/v1/counts?posts=${ids.join(',')}&viewer=${viewer}` });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ counts: Record<string, number>; liked: Record<string, boolean> }>();
    for (const id of ids) {
      assert.equal(body.counts[id], expected.get(id) ?? 0, `count of ${id}`);
      assert.equal(body.liked[id], model.liked(id, viewer), `liked ${id} by ${viewer}`);
    }
  }
  for (const id of ids) {
    const one = await api(app).inject({ method: 'GET', url: `/v1/posts/${id}/count` });
    assert.equal(one.json<{ count: number }>().count, expected.get(id) ?? 0, `GET count of ${id}`);
    const rows = await api(app).inject({ method: 'GET', url: `/v1/posts/${id}/likes?limit=1000` });
    assert.equal(rows.json<{ items: unknown[] }>().items.length, expected.get(id) ?? 0, `rows of ${id} (likers list)`);
  }
  for (const user of Array.from({ length: users }, (_, u) => `u${u}`)) {
    // Users recur across runs: only this run's posts (its prefix) are compared.
    const tab = await api(app).inject({ method: 'GET', url: `/v1/users/${user}/likes?limit=1000` });
    assert.equal(tab.statusCode, 200, tab.body);
    const posts = tab.json<{ items: { postId: string }[] }>().items.map((i) => i.postId).filter((p) => p.startsWith(`${prefix}p`));
    assert.deepEqual([...posts].sort(), model.postsOf(user).filter((p) => p.startsWith(`${prefix}p`)), `Likes tab of ${user}`);
  }
}

const opArb = (posts: number, users: number): fc.Arbitrary<Op> =>
  fc.record({
    op: fc.constantFrom<LikeOp>('like', 'like', 'unlike'),
    post: fc.integer({ min: 0, max: posts - 1 }),
    user: fc.integer({ min: 0, max: users - 1 }),
    via: fc.constantFrom<'single' | 'bulk'>('single', 'bulk', 'bulk'),
    wait: fc.boolean(),
    repeat: fc.boolean(),
  });

for (const pipelineThread of [false, true]) {
  test(`invariants 1–3 hold for any sequence of likes, unlikes and duplicates (property, against a set model; stages ${pipelineThread ? 'in a worker thread' : 'on the api thread'})`, async (t) => {
    await checkInvariants(t, pipelineThread);
  });
}

async function checkInvariants(t: Parameters<typeof startEmbedded>[0], pipelineThread: boolean): Promise<void> {
  const { app } = await startEmbedded(t, { pipelineThread });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb(3, 4), { minLength: 1, maxLength: 40 }), async (ops) => {
      const prefix = `r${run++}`;
      const model = new LikesModel();
      for (const o of ops) {
        const e = { op: o.op, postId: `${prefix}p${o.post}`, userId: `u${o.user}` };
        model.apply(o.repeat ? [e, e] : [e]);
      }
      await send(app, ops, prefix);
      await drained(app);
      await assertMatchesModel(app, model, prefix, 3, 4);
    }),
    { numRuns: 40 },
  );
}

test('like → unlike → like ends liked, unlike of a never-liked post is a no-op, double like counts once', async (t) => {
  const { app } = await startEmbedded(t);
  const ops: Op[] = [
    { op: 'like', post: 0, user: 1, via: 'single', wait: false, repeat: false },
    { op: 'unlike', post: 0, user: 1, via: 'bulk', wait: false, repeat: false },
    { op: 'like', post: 0, user: 1, via: 'single', wait: true, repeat: false },
    { op: 'unlike', post: 1, user: 1, via: 'single', wait: true, repeat: true },
    { op: 'like', post: 2, user: 3, via: 'bulk', wait: true, repeat: true },
  ];
  await send(app, ops, 'fixed');
  await drained(app);
  const counts = await api(app).inject({ method: 'GET', url: '/v1/counts?posts=fixedp0,fixedp1,fixedp2&viewer=u1' });
  assert.deepEqual(counts.json(), { counts: { fixedp0: 1, fixedp1: 0, fixedp2: 1 }, liked: { fixedp0: true, fixedp1: false, fixedp2: false } });
});

test('?wait=applied answers only once the count includes the write (read-your-writes)', async (t) => {
  const { app } = await startEmbedded(t);
  for (let i = 0; i < 30; i++) {
    const put = await api(app).inject({ method: 'PUT', url: `/v1/posts/ryw/likes/u${i}?wait=applied` });
    assert.equal(put.statusCode, 202);
    const count = await api(app).inject({ method: 'GET', url: '/v1/posts/ryw/count' });
    assert.equal(count.json<{ count: number }>().count, i + 1);
  }
  const del = await api(app).inject({ method: 'DELETE', url: '/v1/posts/ryw/likes/u0?wait=applied' });
  assert.equal(del.statusCode, 202);
  assert.equal((await api(app).inject({ method: 'GET', url: '/v1/posts/ryw/count' })).json<{ count: number }>().count, 29);
});

test('?wait=applied gives 504 apply_timeout when the pipeline cannot count in time, and the write is still durable', async (t) => {
  const { app } = await startEmbedded(t, { waitAppliedMs: 200 }, new Set(['api']));
  const res = await api(app).inject({ method: 'PUT', url: '/v1/posts/slow/likes/u1?wait=applied' });
  assert.equal(res.statusCode, 504);
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'apply_timeout');
  assert.ok(app.ports.tracker && app.ports.tracker.ingestLag() >= 1, 'the event is in the log');
});

test('overload: a full commit queue gives 503, a lagging ingest gives 429; nothing refused is counted, nothing accepted is lost', async (t) => {
  const { app: slow } = await startEmbedded(t, { maxIngestLag: 50 }, new Set(['api']));
  let lagging = 0;
  for (let i = 0; i < 80; i++) {
    const res = await api(slow).inject({ method: 'PUT', url: `/v1/posts/lag/likes/u${i}` });
    if (res.statusCode === 429) {
      lagging++;
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'ingest_lagging');
      assert.equal(res.headers['retry-after'], '1');
    } else assert.equal(res.statusCode, 202);
  }
  assert.ok(lagging >= 29, `expected 429s once 50 events lagged, got ${lagging}`);

  const { app } = await startEmbedded(t, { maxPendingEvents: 40 });
  const model = new LikesModel();
  const responses = await Promise.all(
    Array.from({ length: 30 }, async (_, i) => {
      const events = Array.from({ length: 10 }, (_, j) => ({ op: 'like' as const, postId: `ov${j % 3}`, userId: `u${i}_${j}` }));
      const res = await api(app).inject({ method: 'POST', url: '/v1/events', payload: { events } });
      if (res.statusCode === 202) model.apply(events);
      return res.statusCode;
    }),
  );
  assert.ok(responses.includes(503), `some requests are refused with 503: ${responses.join(',')}`);
  assert.ok(responses.includes(202), 'some requests are accepted');
  assert.ok(responses.every((s) => s === 202 || s === 503));
  await drained(app);
  const res = await api(app).inject({ method: 'GET', url: '/v1/counts?posts=ov0,ov1,ov2' });
  const expected = model.counts();
  assert.deepEqual(res.json<{ counts: Record<string, number> }>().counts, { ov0: expected.get('ov0') ?? 0, ov1: expected.get('ov1') ?? 0, ov2: expected.get('ov2') ?? 0 });
});

test('?wait=applied on a write that changes nothing (fresh store, unlike of a never-liked post) answers 202', async (t) => {
  const { app } = await startEmbedded(t, { waitAppliedMs: 3000 });
  const res = await api(app).inject({ method: 'DELETE', url: '/v1/posts/fresh/likes/u1?wait=applied' });
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(res.json(), { accepted: 1, applied: true });
});
