import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { AUDIENCE, ISSUER, makeTestKeys } from '../../../helpers/tokens.ts';
import { drained } from '../../../helpers/drain.ts';
import { startEmbedded } from '../../../helpers/embedded-app.ts';

test('per-IP limit: every request counts, a refusal is 429 rate_limited with Retry-After, other addresses are not affected', async (t) => {
  const { app } = await startEmbedded(t, { rateLimitIp: '0.5:3' });
  const api = app.api;
  assert.ok(api);
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await api.inject({ method: 'GET', url: '/v1/posts/p/count', remoteAddress: '10.0.0.1' })).statusCode);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  const refused = await api.inject({ method: 'PUT', url: '/v1/posts/p/likes/u', remoteAddress: '10.0.0.1' });
  assert.equal(refused.statusCode, 429);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'rate_limited');
  assert.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After ${String(refused.headers['retry-after'])}`);
  assert.equal((await api.inject({ method: 'GET', url: '/v1/posts/p/count', remoteAddress: '10.0.0.2' })).statusCode, 200);
  // IPv6 clients share a bucket per /64.
  for (let i = 0; i < 3; i++) await api.inject({ method: 'GET', url: '/healthz', remoteAddress: `2001:db8::${i + 1}` });
  assert.equal((await api.inject({ method: 'GET', url: '/healthz', remoteAddress: '2001:db8::99' })).statusCode, 429);
  await drained(app);
  const count = await api.inject({ method: 'GET', url: '/v1/posts/p/count', remoteAddress: '10.0.0.3' });
  assert.deepEqual(count.json(), { postId: 'p', count: 0 }, 'the refused like changed nothing');
});

test('per-user limit: single writes of one acting user, whatever their address; reads and other users are not limited', async (t) => {
  const { app } = await startEmbedded(t, { rateLimitUser: '0.1:2' });
  const api = app.api;
  assert.ok(api);
  const like = (post: string, user: string, ip: string) => api.inject({ method: 'PUT', url: `/v1/posts/${post}/likes/${user}`, remoteAddress: ip });
  assert.equal((await like('a', 'spammer', '10.0.0.1')).statusCode, 202);
  assert.equal((await like('b', 'spammer', '10.0.0.2')).statusCode, 202);
  const refused = await like('c', 'spammer', '10.0.0.3');
  assert.equal(refused.statusCode, 429, refused.body);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'rate_limited');
  assert.ok(Number(refused.headers['retry-after']) >= 1);
  assert.equal((await api.inject({ method: 'DELETE', url: '/v1/posts/a/likes/spammer' })).statusCode, 429, 'unlikes count too');
  assert.equal((await like('c', 'someone-else', '10.0.0.3')).statusCode, 202);
  assert.equal((await api.inject({ method: 'GET', url: '/v1/posts/c/likes/spammer' })).statusCode, 200, 'reads are not limited per user');
  await drained(app);
  assert.deepEqual((await api.inject({ method: 'GET', url: '/v1/posts/c/count' })).json(), { postId: 'c', count: 1 }, 'only the allowed like counts');
});

test('with --auth jwt, a caller refused by the policy never drains the user bucket of the user it tried to act as', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-rl-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = await makeTestKeys(dir);
  const { app } = await startEmbedded(t, { auth: 'jwt', jwtJwks: keys.jwksFile, jwtIssuer: ISSUER, jwtAudience: AUDIENCE, rateLimitUser: '0.01:2' });
  const api = app.api;
  assert.ok(api);
  const mallory = `Bearer ${await keys.rs({ sub: 'mallory' })}`;
  for (let i = 0; i < 5; i++) {
    const res: LightMyRequestResponse = await api.inject({ method: 'PUT', url: `/v1/posts/p${i}/likes/bob`, headers: { authorization: mallory } });
    assert.equal(res.statusCode, 403);
  }
  const bob = `Bearer ${await keys.rs({ sub: 'bob' })}`;
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await api.inject({ method: 'PUT', url: `/v1/posts/q${i}/likes/bob`, headers: { authorization: bob } })).statusCode);
  assert.deepEqual(statuses, [202, 202, 429], "bob's own burst is intact");
});

test('X-Forwarded-For is ignored unless it comes from a --trust-proxy address: a client cannot dodge its IP limit by forging it', async (t) => {
  const direct = (await startEmbedded(t, { rateLimitIp: '0.01:2' })).app.api;
  assert.ok(direct);
  const forged = [];
  for (let i = 0; i < 3; i++) forged.push((await direct.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.7', headers: { 'x-forwarded-for': `198.51.100.${i}` } })).statusCode);
  assert.deepEqual(forged, [200, 200, 429], 'forged X-Forwarded-For values share the sender\'s bucket');

  const proxied = (await startEmbedded(t, { rateLimitIp: '0.01:2', trustProxy: '10.0.0.0/8' })).app.api;
  assert.ok(proxied);
  const viaGateway = async (client: string): Promise<number> =>
    (await proxied.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': client } })).statusCode;
  assert.deepEqual([await viaGateway('198.51.100.1'), await viaGateway('198.51.100.1'), await viaGateway('198.51.100.1')], [200, 200, 429]);
  assert.equal(await viaGateway('198.51.100.2'), 200, 'behind the trusted gateway, each client has its own bucket');
});
