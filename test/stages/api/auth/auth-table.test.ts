import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import type { App } from '../../../../src/composition/app.ts';
import type { Options } from '../../../../src/config/options.ts';
import { drained } from '../../../helpers/drain.ts';
import { startEmbedded } from '../../../helpers/embedded-app.ts';
import { AUDIENCE, ISSUER, makeTestKeys, tamperedToken, unsignedToken, type TestKeys } from '../../../helpers/tokens.ts';

interface Case {
  readonly name: string;
  readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  readonly url: string;
  readonly token?: (keys: TestKeys) => Promise<string | undefined> | string | undefined;
  readonly header?: string;
  readonly body?: unknown;
  readonly status: number;
  readonly code?: string;
}

const now = (): number => Math.floor(Date.now() / 1000);
const bulk = { events: [{ op: 'like', postId: 'target', userId: 'alice' }] };

/** Each refused case must change no count; the allowed ones write to posts other than `target`. */
const CASES: Case[] = [
  { name: 'no token', method: 'PUT', url: '/v1/posts/target/likes/alice', status: 401, code: 'unauthenticated' },
  { name: 'not a bearer header', method: 'PUT', url: '/v1/posts/target/likes/alice', header: 'Basic YWxpY2U6cHc=', status: 401, code: 'unauthenticated' },
  { name: 'garbage token', method: 'PUT', url: '/v1/posts/target/likes/alice', header: 'Bearer not.a.jwt', status: 401, code: 'unauthenticated' },
  { name: 'expired (beyond the skew)', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.rs({ sub: 'alice' }, { expiresIn: now() - 120 }), status: 401, code: 'unauthenticated' },
  { name: 'not yet valid (beyond the skew)', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.rs({ sub: 'alice' }, { notBefore: now() + 120 }), status: 401, code: 'unauthenticated' },
  { name: 'wrong issuer', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.rs({ sub: 'alice' }, { issuer: 'https://evil.example' }), status: 401, code: 'unauthenticated' },
  { name: 'wrong audience', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.rs({ sub: 'alice' }, { audience: 'another-service' }), status: 401, code: 'unauthenticated' },
  { name: 'alg none', method: 'PUT', url: '/v1/posts/target/likes/alice', token: () => unsignedToken({ sub: 'alice' }), status: 401, code: 'unauthenticated' },
  {
    name: 'HS256 signed with the RSA public key (RS/HS confusion)',
    method: 'PUT',
    url: '/v1/posts/target/likes/alice',
    token: (k) => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode(k.publicPem)),
    status: 401,
    code: 'unauthenticated',
  },
  { name: 'HS256 token against a JWKS server', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.hs({ sub: 'alice' }), status: 401, code: 'unauthenticated' },
  { name: 'tampered payload', method: 'PUT', url: '/v1/posts/target/likes/bob', token: async (k) => tamperedToken(await k.rs({ sub: 'alice' }), { sub: 'bob' }), status: 401, code: 'unauthenticated' },
  { name: 'signed by an unknown key', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.unknownKey({ sub: 'alice' }), status: 401, code: 'unauthenticated' },
  { name: 'missing sub', method: 'PUT', url: '/v1/posts/target/likes/alice', token: (k) => k.rs({}), status: 401, code: 'unauthenticated' },
  { name: 'scope claim not a string', method: 'POST', url: '/v1/events', body: bulk, token: (k) => k.rs({ sub: 'svc', scope: ['likes:write'] }), status: 401, code: 'unauthenticated' },
  { name: 'like as another user', method: 'PUT', url: '/v1/posts/target/likes/bob', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'unlike as another user', method: 'DELETE', url: '/v1/posts/target/likes/seed', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'has-liked of another user', method: 'GET', url: '/v1/posts/target/likes/seed', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'viewer mismatch', method: 'GET', url: '/v1/counts?posts=target&viewer=seed', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'viewer without a token', method: 'GET', url: '/v1/counts?posts=target&viewer=seed', status: 401, code: 'unauthenticated' },
  { name: 'one count: viewer mismatch', method: 'GET', url: '/v1/posts/target/count?viewer=seed', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'one count: viewer without a token', method: 'GET', url: '/v1/posts/target/count?viewer=seed', status: 401, code: 'unauthenticated' },
  { name: 'bulk with a user token', method: 'POST', url: '/v1/events', body: bulk, token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'likers without the scope (user)', method: 'GET', url: '/v1/posts/target/likes', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'likers without the scope (service)', method: 'GET', url: '/v1/posts/target/likes', token: (k) => k.rs({ sub: 'svc', scope: 'likes:write' }), status: 403, code: 'forbidden' },
  { name: 'likers without a token', method: 'GET', url: '/v1/posts/target/likes', status: 401, code: 'unauthenticated' },
  { name: 'likes:write may not read has-liked', method: 'GET', url: '/v1/posts/target/likes/seed', token: (k) => k.rs({ sub: 'svc', scope: 'likes:write' }), status: 403, code: 'forbidden' },
  { name: 'likers:read may not write', method: 'PUT', url: '/v1/posts/target/likes/bob', token: (k) => k.rs({ sub: 'svc', scope: 'likers:read' }), status: 403, code: 'forbidden' },
  { name: 'admin may not write', method: 'POST', url: '/v1/events', body: bulk, token: (k) => k.rs({ sub: 'ops', scope: 'admin' }), status: 403, code: 'forbidden' },
  { name: 'admin may not list private likers', method: 'GET', url: '/v1/posts/target/likes', token: (k) => k.rs({ sub: 'ops', scope: 'admin' }), status: 403, code: 'forbidden' },
  { name: 'Likes tab of another user (private)', method: 'GET', url: '/v1/users/seed/likes', token: (k) => k.rs({ sub: 'alice' }), status: 403, code: 'forbidden' },
  { name: 'Likes tab without the scope (service)', method: 'GET', url: '/v1/users/seed/likes', token: (k) => k.rs({ sub: 'svc', scope: 'likes:write' }), status: 403, code: 'forbidden' },
  { name: 'Likes tab without a token (private)', method: 'GET', url: '/v1/users/seed/likes', status: 401, code: 'unauthenticated' },
  // Allowed: none of these touch `target`'s count.
  { name: 'a user reads its own Likes tab', method: 'GET', url: '/v1/users/alice/likes', token: (k) => k.rs({ sub: 'alice' }), status: 200 },
  { name: 'likers:read reads any Likes tab', method: 'GET', url: '/v1/users/seed/likes', token: (k) => k.rs({ sub: 'svc', scope: 'likers:read' }), status: 200 },
  { name: 'admin reads any Likes tab', method: 'GET', url: '/v1/users/seed/likes', token: (k) => k.rs({ sub: 'ops', scope: 'admin' }), status: 200 },
  { name: 'a user likes as itself', method: 'PUT', url: '/v1/posts/other/likes/alice', token: (k) => k.rs({ sub: 'alice' }), status: 202 },
  { name: 'within the clock skew', method: 'PUT', url: '/v1/posts/other/likes/carol', token: (k) => k.rs({ sub: 'carol' }, { expiresIn: now() - 5 }), status: 202 },
  { name: 'a user reads its own has-liked', method: 'GET', url: '/v1/posts/target/likes/alice', token: (k) => k.rs({ sub: 'alice' }), status: 200 },
  { name: 'a user reads counts as viewer', method: 'GET', url: '/v1/counts?posts=target&viewer=alice', token: (k) => k.rs({ sub: 'alice' }), status: 200 },
  { name: 'a user reads one count as viewer', method: 'GET', url: '/v1/posts/target/count?viewer=alice', token: (k) => k.rs({ sub: 'alice' }), status: 200 },
  { name: 'counts need no token', method: 'GET', url: '/v1/posts/target/count', status: 200 },
  { name: 'likes:write likes for any user', method: 'PUT', url: '/v1/posts/other/likes/dave', token: (k) => k.rs({ sub: 'svc', scope: 'likes:write' }), status: 202 },
  { name: 'likes:write bulk', method: 'POST', url: '/v1/events', body: { events: [{ op: 'like', postId: 'other', userId: 'erin' }] }, token: (k) => k.rs({ sub: 'svc', scope: 'likes:write' }), status: 202 },
  { name: 'likers:read lists likers', method: 'GET', url: '/v1/posts/target/likes', token: (k) => k.rs({ sub: 'svc', scope: 'likers:read likes:write' }), status: 200 },
  { name: 'likers:read reads has-liked and viewer flags', method: 'GET', url: '/v1/counts?posts=target&viewer=seed', token: (k) => k.rs({ sub: 'svc', scope: 'likers:read' }), status: 200 },
  { name: 'admin reads ops routes', method: 'GET', url: '/healthz', token: (k) => k.rs({ sub: 'ops', scope: 'admin' }), status: 200 },
];

async function withKeys(t: { after: (fn: () => void) => void }): Promise<{ keys: TestKeys; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { keys: await makeTestKeys(dir), dir };
}

function jwtOptions(keys: TestKeys, extra: Partial<Options> = {}): Partial<Options> {
  return { auth: 'jwt', jwtJwks: keys.jwksFile, jwtIssuer: ISSUER, jwtAudience: AUDIENCE, jwtClockSkewS: 30, likers: 'service', ...extra };
}

async function accepted(app: App): Promise<number> {
  return (await app.metrics.eventsAccepted.get()).values[0]?.value ?? 0;
}

test('the auth table: each case gets its status and code, and a refused request changes no count', async (t) => {
  const { keys } = await withKeys(t);
  const { app } = await startEmbedded(t, jwtOptions(keys));
  const api = app.api;
  assert.ok(api);
  const seedToken = await keys.rs({ sub: 'seed' });
  const seed = await api.inject({ method: 'PUT', url: '/v1/posts/target/likes/seed?wait=applied', headers: { authorization: `Bearer ${seedToken}` } });
  assert.equal(seed.statusCode, 202, seed.body);

  let allowedWrites = 0;
  for (const c of CASES) {
    const before = await accepted(app);
    const token = c.token === undefined ? undefined : await c.token(keys);
    const headers: Record<string, string> = {};
    if (c.header !== undefined) headers.authorization = c.header;
    else if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    const res: LightMyRequestResponse = await api.inject({ method: c.method, url: c.url, headers, ...(c.body === undefined ? {} : { payload: JSON.stringify(c.body) }) });
    assert.equal(res.statusCode, c.status, `${c.name}: status (body ${res.body.slice(0, 300)})`);
    if (c.code !== undefined) {
      const body = res.json<{ error: { code: string; message: string } }>();
      assert.equal(body.error.code, c.code, `${c.name}: code`);
      assert.ok(body.error.message.length > 10, `${c.name}: a message`);
      assert.equal(await accepted(app), before, `${c.name}: nothing reached the log`);
      if (c.status === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer/, `${c.name}: WWW-Authenticate`);
    } else if (c.status === 202) {
      allowedWrites++;
    }
  }
  assert.ok(allowedWrites >= 3);
  await drained(app);
  const count = await api.inject({ method: 'GET', url: '/v1/posts/target/count' });
  assert.deepEqual(count.json(), { postId: 'target', count: 1 }, 'only the seed like counts on target');
});

test('the Likes tab: own, another user\'s when private (403, as private likers) and when public, admin; open with --auth none', async (t) => {
  const { keys } = await withKeys(t);
  const tab = async (api: NonNullable<App['api']>, userId: string, token: string | undefined): Promise<LightMyRequestResponse> =>
    api.inject({ method: 'GET', url: `/v1/users/${userId}/likes`, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const alice = await keys.rs({ sub: 'alice' });
  const bob = await keys.rs({ sub: 'bob' });
  const admin = await keys.rs({ sub: 'ops', scope: 'admin' });

  const { app: privateApp } = await startEmbedded(t, jwtOptions(keys));
  const api = privateApp.api;
  assert.ok(api);
  const liked = await api.inject({ method: 'PUT', url: '/v1/posts/tab1/likes/alice?wait=applied', headers: { authorization: `Bearer ${alice}` } });
  assert.equal(liked.statusCode, 202);
  const own = await tab(api, 'alice', alice);
  assert.equal(own.statusCode, 200);
  assert.deepEqual(own.json<{ items: { postId: string }[] }>().items.map((i) => i.postId), ['tab1']);
  const other = await tab(api, 'alice', bob);
  assert.equal(other.statusCode, 403);
  assert.equal(other.json<{ error: { code: string } }>().error.code, 'forbidden');
  // The private likers list answers a user token with the same code.
  const likers = await api.inject({ method: 'GET', url: '/v1/posts/tab1/likes', headers: { authorization: `Bearer ${bob}` } });
  assert.equal(likers.statusCode, other.statusCode);
  assert.equal(likers.json<{ error: { code: string } }>().error.code, 'forbidden');
  assert.equal((await tab(api, 'alice', undefined)).statusCode, 401);
  assert.equal((await tab(api, 'alice', admin)).statusCode, 200);

  const { app: publicApp } = await startEmbedded(t, jwtOptions(keys, { userLikes: 'public' }));
  const open = publicApp.api;
  assert.ok(open);
  await open.inject({ method: 'PUT', url: '/v1/posts/tab2/likes/alice?wait=applied', headers: { authorization: `Bearer ${alice}` } });
  const byBob = await tab(open, 'alice', bob);
  assert.equal(byBob.statusCode, 200, byBob.body);
  assert.deepEqual(byBob.json<{ items: { postId: string }[] }>().items.map((i) => i.postId), ['tab2']);
  assert.equal((await tab(open, 'alice', undefined)).statusCode, 200, 'public: no token needed');

  const { app: readsApp } = await startEmbedded(t, jwtOptions(keys, { userLikes: 'public', authReads: true }));
  assert.ok(readsApp.api);
  assert.equal((await tab(readsApp.api, 'alice', undefined)).statusCode, 401, '--auth-reads: a token is needed even when public');
  assert.equal((await tab(readsApp.api, 'alice', bob)).statusCode, 200);

  const { app: noAuth } = await startEmbedded(t);
  assert.ok(noAuth.api);
  assert.equal((await tab(noAuth.api, 'alice', undefined)).statusCode, 200, '--auth none: open');
});

test('an HS256 server refuses RS256 tokens and accepts its own; --auth-reads makes counts need a token', async (t) => {
  const { keys } = await withKeys(t);
  const { app } = await startEmbedded(t, { auth: 'jwt', jwtSecretFile: keys.secretFile, jwtIssuer: ISSUER, jwtAudience: AUDIENCE, authReads: true });
  const api = app.api;
  assert.ok(api);
  const rs = await api.inject({ method: 'PUT', url: '/v1/posts/p/likes/alice', headers: { authorization: `Bearer ${await keys.rs({ sub: 'alice' })}` } });
  assert.equal(rs.statusCode, 401);
  const none = await api.inject({ method: 'PUT', url: '/v1/posts/p/likes/alice', headers: { authorization: `Bearer ${unsignedToken({ sub: 'alice' })}` } });
  assert.equal(none.statusCode, 401);
  const hs = await api.inject({ method: 'PUT', url: '/v1/posts/p/likes/alice', headers: { authorization: `Bearer ${await keys.hs({ sub: 'alice' })}` } });
  assert.equal(hs.statusCode, 202, hs.body);
  const anonymous = await api.inject({ method: 'GET', url: '/v1/posts/p/count' });
  assert.equal(anonymous.statusCode, 401);
  const withToken = await api.inject({ method: 'GET', url: '/v1/posts/p/count', headers: { authorization: `Bearer ${await keys.hs({ sub: 'bob' })}` } });
  assert.equal(withToken.statusCode, 200);
});

test('a JWKS file is read again when a token names an unknown kid (key rotation without a restart)', async (t) => {
  const { keys, dir } = await withKeys(t);
  const { app } = await startEmbedded(t, jwtOptions(keys));
  const api = app.api;
  assert.ok(api);
  const rotated = await makeTestKeys(dir, 'k2');
  // The new JWKS (same path) now holds the new key: a token signed with it verifies after the reread.
  const token = await rotated.rs({ sub: 'alice' });
  const res = await api.inject({ method: 'PUT', url: '/v1/posts/p/likes/alice', headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.statusCode, 202, res.body);
});

test('--auth jwt without issuer, audience or keys stops start-up with a message naming them', async (t) => {
  const { keys } = await withKeys(t);
  await assert.rejects(startEmbedded(t, { auth: 'jwt', jwtJwks: keys.jwksFile }), /--jwt-issuer and --jwt-audience/);
  await assert.rejects(startEmbedded(t, { auth: 'jwt', jwtIssuer: ISSUER, jwtAudience: AUDIENCE }), /exactly one of --jwt-jwks/);
  await assert.rejects(startEmbedded(t, { likers: 'service' }), /--likers service needs --auth jwt/);
});
