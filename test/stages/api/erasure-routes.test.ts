import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runErase } from '../../../src/cli/commands/erase.ts';
import { AUDIENCE, ISSUER, makeTestKeys } from '../../helpers/tokens.ts';
import type { App } from '../../../src/composition/app.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';

async function call(app: App, method: 'PUT' | 'DELETE' | 'GET' | 'POST', url: string, payload?: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.api?.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  assert.ok(res !== undefined);
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

async function likeAll(app: App, events: { postId: string; userId: string }[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const res = await call(app, 'POST', '/v1/events?wait=applied', { events: events.slice(i, i + 500).map((e) => ({ op: 'like', ...e })) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  }
}

async function count(app: App, postId: string): Promise<number> {
  const res = await call(app, 'GET', `/v1/posts/${postId}/count`);
  return res.body.count as number;
}

test('DELETE /v1/users/{userId}/likes?wait=applied removes every like of the user in bounded batches; each count drops by one; later likes stay', async (t) => {
  const { app } = await startEmbedded(t, { eraseBatch: 7, partitions: 4 });
  const posts = Array.from({ length: 60 }, (_, i) => `p${i}`);
  await likeAll(app, [...posts.map((postId) => ({ postId, userId: 'eve' })), ...posts.slice(0, 30).map((postId) => ({ postId, userId: 'bob' }))]);
  assert.equal(await count(app, 'p0'), 2);

  const none = await call(app, 'GET', '/v1/users/eve/erasure');
  assert.deepEqual(none.body, { userId: 'eve', status: 'none', removed: 0, partitionsDone: 0, partitionsTotal: 0, acceptedAt: null });

  const erased = await call(app, 'DELETE', '/v1/users/eve/likes?wait=applied');
  assert.equal(erased.status, 202, JSON.stringify(erased.body));
  assert.deepEqual(erased.body, { accepted: 1, applied: true });
  for (const [i, postId] of posts.entries()) assert.equal(await count(app, postId), i < 30 ? 1 : 0, postId);
  const status = await call(app, 'GET', '/v1/users/eve/erasure');
  assert.equal(status.body.status, 'applied');
  assert.equal(status.body.removed, 60);
  assert.equal(status.body.partitionsDone, 4);
  assert.equal(status.body.partitionsTotal, 4);
  assert.equal(typeof status.body.acceptedAt, 'string');
  const likers = await call(app, 'GET', '/v1/posts/p1/likes');
  assert.deepEqual((likers.body.items as { userId: string }[]).map((i) => i.userId), ['bob']);

  // A like sent after the erasure was accepted stays.
  assert.equal((await call(app, 'PUT', '/v1/posts/p1/likes/eve?wait=applied')).status, 202);
  assert.equal(await count(app, 'p1'), 2);
  assert.equal((await call(app, 'GET', '/v1/posts/p1/likes/eve')).body.liked, true);
});

test('DELETE /v1/posts/{postId}/likes?wait=applied empties the post: count 0, no likers; other posts untouched', async (t) => {
  const { app } = await startEmbedded(t, { eraseBatch: 5 });
  await likeAll(app, [...Array.from({ length: 23 }, (_, i) => ({ postId: 'gone', userId: `u${i}` })), { postId: 'kept', userId: 'u1' }]);
  assert.equal(await count(app, 'gone'), 23);
  const erased = await call(app, 'DELETE', '/v1/posts/gone/likes?wait=applied');
  assert.equal(erased.status, 202, JSON.stringify(erased.body));
  assert.equal(await count(app, 'gone'), 0);
  assert.deepEqual((await call(app, 'GET', '/v1/posts/gone/likes')).body.items, []);
  assert.equal(await count(app, 'kept'), 1);
  // The post can be liked again afterwards.
  assert.equal((await call(app, 'PUT', '/v1/posts/gone/likes/u3?wait=applied')).status, 202);
  assert.equal(await count(app, 'gone'), 1);
});

test('an unknown user: 202, nothing changes, the status says applied with 0 removed', async (t) => {
  const { app } = await startEmbedded(t);
  await likeAll(app, [{ postId: 'x1', userId: 'known' }]);
  const erased = await call(app, 'DELETE', '/v1/users/nobody/likes?wait=applied');
  assert.equal(erased.status, 202);
  assert.equal(await count(app, 'x1'), 1);
  const status = await call(app, 'GET', '/v1/users/nobody/erasure');
  assert.equal(status.body.status, 'applied');
  assert.equal(status.body.removed, 0);
});

test('erasures without wait: 202 at once, status goes pending → applied', async (t) => {
  const { app } = await startEmbedded(t);
  await likeAll(app, Array.from({ length: 50 }, (_, i) => ({ postId: `q${i}`, userId: 'zed' })));
  const erased = await call(app, 'DELETE', '/v1/users/zed/likes');
  assert.deepEqual(erased.body, { accepted: 1 });
  const first = await call(app, 'GET', '/v1/users/zed/erasure');
  assert.ok(first.body.status === 'pending' || first.body.status === 'applied', String(first.body.status));
  const deadline = Date.now() + 10_000;
  let status = first;
  while (status.body.status !== 'applied' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    status = await call(app, 'GET', '/v1/users/zed/erasure');
  }
  assert.equal(status.body.status, 'applied');
  assert.equal(status.body.removed, 50);
});

test('bad ids get invalid_id (400)', async (t) => {
  const { app } = await startEmbedded(t);
  for (const [method, url] of [
    ['DELETE', '/v1/users/bad%20id/likes'],
    ['DELETE', '/v1/posts/bad.id/likes'],
    ['GET', `/v1/users/${'x'.repeat(65)}/erasure`],
  ] as const) {
    const res = await call(app, method, url);
    assert.equal(res.status, 400, url);
    assert.equal((res.body.error as { code: string }).code, 'invalid_id', url);
  }
});

test('--auth jwt: a user erases its own likes; another user or a post needs the admin scope (403 forbidden), no token is 401', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-erasure-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = await makeTestKeys(dir);
  const { app } = await startEmbedded(t, { auth: 'jwt', jwtSecretFile: keys.secretFile, jwtIssuer: ISSUER, jwtAudience: AUDIENCE });
  const as = async (token: string | undefined, method: 'DELETE' | 'GET', url: string): Promise<{ status: number; code: string | undefined }> => {
    const res = await app.api?.inject({ method, url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: res?.statusCode ?? 0, code: res?.json<{ error?: { code: string } }>().error?.code };
  };
  const alice = await keys.hs({ sub: 'alice' });
  const writer = await keys.hs({ sub: 'svc', scope: 'likes:write likers:read' });
  const admin = await keys.hs({ sub: 'ops', scope: 'admin' });
  assert.deepEqual(await as(undefined, 'DELETE', '/v1/users/alice/likes'), { status: 401, code: 'unauthenticated' });
  assert.deepEqual(await as(alice, 'DELETE', '/v1/users/alice/likes'), { status: 202, code: undefined });
  assert.deepEqual(await as(alice, 'GET', '/v1/users/alice/erasure'), { status: 200, code: undefined });
  assert.deepEqual(await as(alice, 'DELETE', '/v1/users/bob/likes'), { status: 403, code: 'forbidden' });
  assert.deepEqual(await as(alice, 'GET', '/v1/users/bob/erasure'), { status: 403, code: 'forbidden' });
  assert.deepEqual(await as(writer, 'DELETE', '/v1/users/bob/likes'), { status: 403, code: 'forbidden' });
  assert.deepEqual(await as(alice, 'DELETE', '/v1/posts/p1/likes'), { status: 403, code: 'forbidden' });
  assert.deepEqual(await as(writer, 'DELETE', '/v1/posts/p1/likes'), { status: 403, code: 'forbidden' });
  assert.deepEqual(await as(admin, 'DELETE', '/v1/users/bob/likes'), { status: 202, code: undefined });
  assert.deepEqual(await as(admin, 'DELETE', '/v1/posts/p1/likes'), { status: 202, code: undefined });
  assert.deepEqual(await as(admin, 'GET', '/v1/posts/p1/erasure'), { status: 200, code: undefined });
});

test('./tally erase --user / --post: prints progress and resolves once applied; a refusal throws with the api message', async (t) => {
  const { app, options } = await startEmbedded(t, { eraseBatch: 10 });
  await likeAll(app, [...Array.from({ length: 40 }, (_, i) => ({ postId: `c${i}`, userId: 'cliuser' })), ...Array.from({ length: 15 }, (_, i) => ({ postId: 'clipost', userId: `v${i}` }))]);
  const url = app.url ?? '';
  const lines: string[] = [];
  await runErase(options, new Map([['user', 'cliuser'], ['url', url]]), (l) => lines.push(l));
  assert.match(lines.at(-1) ?? '', /user cliuser: applied, 4\/4 partitions done, 40 likes removed/);
  await runErase(options, new Map([['post', 'clipost'], ['url', url]]), (l) => lines.push(l));
  assert.match(lines.at(-1) ?? '', /post clipost: applied, 1\/1 partitions done, 15 likes removed/);
  assert.equal(await count(app, 'clipost'), 0);
  await assert.rejects(runErase(options, new Map([['user', 'a'], ['post', 'b'], ['url', url]])), /exactly one of --user ID or --post ID/);
  await assert.rejects(runErase(options, new Map([['user', 'x'], ['url', 'http://127.0.0.1:1']])), /cannot reach the api/);
});
