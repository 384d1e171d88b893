import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '../../../src/domain/errors.ts';
import { ERROR_STATUS } from '../../../src/stages/api/error-statuses.ts';
import { drained } from '../../helpers/drain.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';
import { AUDIENCE, ISSUER, makeTestKeys, tamperedToken, unsignedToken } from '../../helpers/tokens.ts';

const RUNS = 10_000;
const POSTS = ['p1', 'p2', 'p3'];
const USERS = ['alice', 'bob', 'carol'];

/** Who a generated token speaks for; the oracle decides from it which writes may succeed. */
type Caller = { kind: 'none' } | { kind: 'bad' } | { kind: 'user'; sub: string } | { kind: 'service'; scopes: string[] };

const hostileText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '..', '.', '%', '%zz', '%00', '%2F', 'a%20b', 'é', '😀', '__proto__', 'constructor', '1e309', '-1', 'null', 'a'.repeat(65), 'a'.repeat(300)),
);
const id = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...POSTS, ...USERS) }, { weight: 2, arbitrary: hostileText });
const segment = id.map((s) => (/^[A-Za-z0-9_-]*$/.test(s) ? s : Math.random() < 0.5 ? encodeURIComponent(s) : s));

const path = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(segment, segment).map(([p, u]) => `/v1/posts/${p}/likes/${u}`) },
  segment.map((p) => `/v1/posts/${p}/likes`),
  segment.map((p) => `/v1/posts/${p}/count`),
  fc.constant('/v1/counts'),
  { weight: 3, arbitrary: fc.constant('/v1/events') },
  fc.constantFrom('/healthz', '/readyz', '/docs/json', '/metrics', '/v1', '/v1/posts', '/', '//v1//counts', '/v1/posts/p1/likes/alice/extra'),
  fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);

const queryPair = fc.oneof(
  fc.tuple(fc.constant('wait'), fc.constantFrom('applied', 'applied', 'now', '', 'APPLIED')),
  fc.tuple(fc.constant('limit'), fc.oneof(fc.integer({ min: -5, max: 2000 }).map(String), hostileText)),
  fc.tuple(fc.constant('cursor'), hostileText),
  fc.tuple(fc.constant('posts'), fc.array(id, { maxLength: 6 }).map((ids) => ids.join(','))),
  fc.tuple(fc.constant('viewer'), id),
  fc.tuple(hostileText, hostileText),
);
const query = fc.array(queryPair, { maxLength: 4 }).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${Math.random() < 0.8 ? encodeURIComponent(v) : v}`).join('&')}`));

const event = fc.record({ op: fc.constantFrom('like', 'unlike', 'love'), postId: id, userId: id }, { requiredKeys: [] });
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.array(fc.record({ op: fc.constantFrom('like', 'unlike'), postId: fc.constantFrom(...POSTS), userId: fc.constantFrom(...USERS) }), { minLength: 1, maxLength: 5 }).map((events) => JSON.stringify({ events })),
  fc.array(event, { maxLength: 5 }).map((events) => JSON.stringify({ events })),
  fc.json({ maxDepth: 3 }),
  hostileText,
  fc.constantFrom('{"events": [', '{"events": null}', '{"__proto__": {"x": 1}, "events": []}', 'null', '[]', '{"events": [{"op": "like", "postId": 12345678901234567890, "userId": "a"}]}'),
);

const contentType = fc.constantFrom(undefined, 'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '', 'garbage');
const method = fc.constantFrom('GET', 'GET', 'GET', 'PUT', 'PUT', 'PUT', 'DELETE', 'DELETE', 'POST', 'POST', 'HEAD', 'PATCH', 'OPTIONS');

test(`${RUNS} generated hostile requests: only documented 4xx (or 2xx when allowed), no 5xx, no count change from a refused request, bounded memory`, { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-hostile-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = await makeTestKeys(dir);
  const { app } = await startEmbedded(t, {
    auth: 'jwt',
    jwtJwks: keys.jwksFile,
    jwtIssuer: ISSUER,
    jwtAudience: AUDIENCE,
    likers: 'service',
    maxBulkEvents: 20,
    maxReadPosts: 5,
    bodyLimitBytes: 16 * 1024,
    waitAppliedMs: 2000,
    rateLimitUser: '100000:100000',
  });
  const api = app.api;
  assert.ok(api);

  const tokens: { caller: Caller; header: string | undefined }[] = [{ caller: { kind: 'none' }, header: undefined }];
  for (const sub of USERS) tokens.push({ caller: { kind: 'user', sub }, header: `Bearer ${await keys.rs({ sub })}` });
  for (const scopes of [['likes:write'], ['likers:read'], ['admin'], ['likes:write', 'likers:read']]) {
    tokens.push({ caller: { kind: 'service', scopes }, header: `Bearer ${await keys.rs({ sub: 'svc', scope: scopes.join(' ') })}` });
  }
  const valid = await keys.rs({ sub: 'alice' });
  for (const header of [
    `Bearer ${unsignedToken({ sub: 'alice' })}`,
    `Bearer ${tamperedToken(valid, { sub: 'bob' })}`,
    `Bearer ${await keys.rs({ sub: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 })}`,
    `Bearer ${await keys.rs({ sub: 'alice' }, { audience: 'other' })}`,
    `Bearer ${await keys.unknownKey({ sub: 'alice' })}`,
    `Bearer ${await keys.hs({ sub: 'alice' })}`,
    `Bearer ${valid}x`,
    'Bearer',
    'Basic YWxpY2U6cHc=',
    `bearer  ${valid.slice(0, 20)}`,
  ]) {
    tokens.push({ caller: { kind: 'bad' }, header });
  }

  const liked = new Set<string>();
  const accepted = async (): Promise<number> => (await app.metrics.eventsAccepted.get()).values[0]?.value ?? 0;
  const rssBefore = process.memoryUsage().rss;
  let sent = 0;
  const statuses = new Map<number, number>();

  const request = fc.record({ method, path, query, body, contentType, token: fc.nat({ max: tokens.length - 1 }), extraHeader: fc.option(fc.tuple(fc.constantFrom('x-forwarded-for', 'accept', 'transfer-encoding', 'expect', 'x-junk'), hostileText)) });
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const { caller, header } = tokens[r.token] ?? { caller: { kind: 'none' } as Caller, header: undefined };
      const headers: Record<string, string> = {};
      if (header !== undefined) headers.authorization = header;
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      if (r.extraHeader !== null) headers[r.extraHeader[0]] = r.extraHeader[1];
      const url = r.path + r.query;
      const options: InjectOptions = { method: r.method, url, headers };
      if (r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD') options.payload = r.body;
      const before = await accepted();
      let res: LightMyRequestResponse;
      try {
        res = await api.inject(options);
      } catch {
        return; // a request the client library refuses to build (an invalid header value) never reaches the server
      }
      sent++;
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const where = `${r.method} ${url} (${caller.kind}) → ${res.statusCode} ${res.body.slice(0, 200)}`;
      assert.ok(res.statusCode < 500, `no 5xx: ${where}`);
      if (res.statusCode >= 400) {
        if (r.method !== 'HEAD') {
          const parsed = res.json<{ error: { code: ErrorCode; message: string } }>();
          assert.ok((ERROR_CODES as readonly string[]).includes(parsed.error.code), `a documented code: ${where}`);
          assert.equal(ERROR_STATUS[parsed.error.code], res.statusCode, `the code's status: ${where}`);
          assert.equal(Object.keys(parsed).length, 1, where);
        }
        assert.equal(await accepted(), before, `a refused request changes nothing: ${where}`);
        return;
      }
      assert.ok(res.statusCode < 300 || res.statusCode === 304, where);
      if (res.statusCode === 202) {
        // The oracle: a write succeeded only for a caller allowed to make it.
        const parsedUrl = new URL(url, 'http://x');
        const single = /^\/v1\/posts\/([^/]+)\/likes\/([^/]+)$/.exec(parsedUrl.pathname);
        const erasure = r.method === 'DELETE' ? /^\/v1\/posts\/([^/]+)\/likes$/.exec(parsedUrl.pathname) : null;
        if (erasure !== null) {
          assert.ok(caller.kind === 'service' && caller.scopes.includes('admin'), `a post's erasure only with admin: ${where}`);
          const postId = decodeURIComponent(erasure[1] ?? '');
          for (const pair of [...liked]) if (pair.startsWith(`${postId}/`)) liked.delete(pair);
        } else if (single !== null) {
          const [postId, userId] = [decodeURIComponent(single[1] ?? ''), decodeURIComponent(single[2] ?? '')];
          assert.ok((caller.kind === 'user' && caller.sub === userId) || (caller.kind === 'service' && caller.scopes.includes('likes:write')), `write allowed only as itself or with likes:write: ${where}`);
          if (r.method === 'PUT') liked.add(`${postId}/${userId}`);
          else liked.delete(`${postId}/${userId}`);
        } else {
          assert.ok(caller.kind === 'service' && caller.scopes.includes('likes:write'), `bulk only with likes:write: ${where}`);
          for (const e of (JSON.parse(r.body ?? '{}') as { events: { op: string; postId: string; userId: string }[] }).events) {
            if (e.op === 'like') liked.add(`${e.postId}/${e.userId}`);
            else liked.delete(`${e.postId}/${e.userId}`);
          }
        }
      }
    }),
    { numRuns: RUNS, seed: 20261129 },
  );
  assert.ok(sent >= RUNS * 0.95, `at least ~${RUNS} requests reached the server (${sent})`);
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);

  const health = await api.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200);
  const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  t.diagnostic(`RSS grew by ${grownMb.toFixed(0)} MB`);
  assert.ok(grownMb < 400, `RSS stays bounded (grew ${grownMb.toFixed(0)} MB)`);

  await drained(app);
  for (const postId of [...POSTS, ...USERS]) {
    const expected = [...liked].filter((key) => key.startsWith(`${postId}/`)).length;
    const res: LightMyRequestResponse = await api.inject({ method: 'GET', url: `/v1/posts/${postId}/count` });
    assert.deepEqual(res.json(), { postId, count: expected }, `count of ${postId} follows only the accepted writes`);
  }
});
