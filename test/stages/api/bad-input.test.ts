import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { drained } from '../../helpers/drain.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';

interface Case {
  readonly name: string;
  readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  readonly url: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly status: number;
  readonly code: string;
  /** What the message must say, beyond saying something. */
  readonly says?: RegExp;
}

const long = 'a'.repeat(65);
const validEvent = { op: 'like', postId: 'target', userId: 'x1' };

const CASES: Case[] = [
  { name: 'post id with a space', method: 'PUT', url: '/v1/posts/bad%20id/likes/u1', status: 400, code: 'invalid_id' },
  { name: 'post id of 65 chars', method: 'PUT', url: `/v1/posts/${long}/likes/u1`, status: 400, code: 'invalid_id' },
  { name: 'user id with a dot', method: 'DELETE', url: '/v1/posts/target/likes/u.1', status: 400, code: 'invalid_id' },
  { name: 'user id of unicode', method: 'PUT', url: '/v1/posts/target/likes/%C3%A9', status: 400, code: 'invalid_id' },
  { name: 'count of a bad id', method: 'GET', url: '/v1/posts/a$b/count', status: 400, code: 'invalid_id' },
  { name: 'unknown wait value', method: 'PUT', url: '/v1/posts/target/likes/u1?wait=forever', status: 400, code: 'invalid_query', says: /^querystring\/wait must be "applied";/ },
  { name: 'bulk: invalid JSON', method: 'POST', url: '/v1/events', body: '{"events": [', status: 400, code: 'invalid_json' },
  { name: 'bulk: empty body', method: 'POST', url: '/v1/events', body: '', status: 400, code: 'invalid_json' },
  { name: 'bulk: missing events', method: 'POST', url: '/v1/events', body: '{}', status: 400, code: 'invalid_body' },
  { name: 'bulk: events not an array', method: 'POST', url: '/v1/events', body: '{"events": {"op": "like"}}', status: 400, code: 'invalid_body' },
  { name: 'bulk: unknown op', method: 'POST', url: '/v1/events', body: JSON.stringify({ events: [validEvent, { op: 'love', postId: 'target', userId: 'u2' }] }), status: 400, code: 'invalid_body', says: /^body\/events\/1\/op must be "like" or "unlike";/ },
  { name: 'bulk: missing userId', method: 'POST', url: '/v1/events', body: JSON.stringify({ events: [validEvent, { op: 'like', postId: 'target' }] }), status: 400, code: 'invalid_body' },
  { name: 'bulk: numeric post id', method: 'POST', url: '/v1/events', body: '{"events": [{"op": "like", "postId": 12345678901234567890, "userId": "u2"}]}', status: 400, code: 'invalid_body' },
  { name: 'bulk: over-long id', method: 'POST', url: '/v1/events', body: JSON.stringify({ events: [validEvent, { op: 'like', postId: long, userId: 'u2' }] }), status: 400, code: 'invalid_body' },
  { name: 'bulk: extra field', method: 'POST', url: '/v1/events', body: JSON.stringify({ events: [{ ...validEvent, count: 5 }] }), status: 400, code: 'invalid_body', says: /^body\/events\/0 has a property this API does not know: "count";/ },
  { name: 'bulk: too many events', method: 'POST', url: '/v1/events', body: JSON.stringify({ events: Array.from({ length: 101 }, () => validEvent) }), status: 413, code: 'too_many_events' },
  { name: 'bulk: body over the limit', method: 'POST', url: '/v1/events', body: JSON.stringify({ events: [validEvent], pad: 'x'.repeat(70_000) }), status: 413, code: 'body_too_large' },
  { name: 'bulk: not JSON content type', method: 'POST', url: '/v1/events', body: 'op=like', contentType: 'text/csv', status: 415, code: 'unsupported_media_type' },
  { name: 'counts: too many posts', method: 'GET', url: `/v1/counts?posts=${Array.from({ length: 21 }, (_, i) => `p${i}`).join(',')}`, status: 400, code: 'too_many_posts' },
  { name: 'counts: a bad id in the list', method: 'GET', url: '/v1/counts?posts=a,b%20c', status: 400, code: 'invalid_id' },
  { name: 'counts: empty list', method: 'GET', url: '/v1/counts?posts=', status: 400, code: 'invalid_query' },
  { name: 'counts: missing posts', method: 'GET', url: '/v1/counts', status: 400, code: 'invalid_query' },
  { name: 'counts: bad viewer', method: 'GET', url: '/v1/counts?posts=a&viewer=x%20y', status: 400, code: 'invalid_id', says: /ids are 1 to 64 characters/ },
  { name: 'one count: bad viewer', method: 'GET', url: '/v1/posts/target/count?viewer=x%20y', status: 400, code: 'invalid_id', says: /ids are 1 to 64 characters/ },
  { name: 'likers: forged cursor', method: 'GET', url: '/v1/posts/target/likes?cursor=bm9wZQ', status: 400, code: 'invalid_cursor' },
  { name: 'likers: limit 0', method: 'GET', url: '/v1/posts/target/likes?limit=0', status: 400, code: 'invalid_query' },
  { name: 'likes tab: bad user id', method: 'GET', url: '/v1/users/a.b/likes', status: 400, code: 'invalid_id' },
  { name: 'likes tab: user id of 65 chars', method: 'GET', url: `/v1/users/${long}/likes`, status: 400, code: 'invalid_id' },
  { name: 'likes tab: forged cursor', method: 'GET', url: '/v1/users/seed/likes?cursor=bm9wZQ', status: 400, code: 'invalid_cursor' },
  { name: 'likes tab: limit over 1000', method: 'GET', url: '/v1/users/seed/likes?limit=1001', status: 400, code: 'invalid_query' },
  { name: 'unknown route', method: 'GET', url: '/v2/anything', status: 404, code: 'not_found' },
];

test('bad input gets a clear 4xx with a documented code and changes nothing (invariant 5)', async (t) => {
  const { app } = await startEmbedded(t, { maxBulkEvents: 100, maxReadPosts: 20, bodyLimitBytes: 64 * 1024 });
  const api = app.api;
  assert.ok(api);
  const seed = await api.inject({ method: 'PUT', url: '/v1/posts/target/likes/seed?wait=applied' });
  assert.equal(seed.statusCode, 202);
  const accepted = async (): Promise<number> => (await app.metrics.eventsAccepted.get()).values[0]?.value ?? 0;
  const acceptedBefore = await accepted();

  for (const c of CASES) {
    const request: InjectOptions = { method: c.method, url: c.url };
    if (c.body !== undefined) {
      request.payload = c.body;
      request.headers = { 'content-type': c.contentType ?? 'application/json' };
    }
    const res: LightMyRequestResponse = await api.inject(request);
    assert.equal(res.statusCode, c.status, `${c.name}: status (body ${res.body.slice(0, 200)})`);
    const body = res.json<{ error: { code: string; message: string } }>();
    assert.equal(body.error.code, c.code, `${c.name}: code`);
    assert.ok(body.error.message.length > 10, `${c.name}: a message saying what to do`);
    if (c.says !== undefined) assert.match(body.error.message, c.says, `${c.name}: message`);
  }

  assert.equal(await accepted(), acceptedBefore, 'no bad request reached the log');
  await drained(app);
  const count = await api.inject({ method: 'GET', url: '/v1/posts/target/count' });
  assert.deepEqual(count.json(), { postId: 'target', count: 1 });
});

test('every error code is documented in the README error table', async () => {
  const { readFileSync } = await import('node:fs');
  const { ERROR_CODES } = await import('../../../src/domain/errors.ts');
  const { ERROR_STATUS } = await import('../../../src/stages/api/error-statuses.ts');
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const code of ERROR_CODES) {
    assert.match(readme, new RegExp(`\\| \`${code}\` \\| ${ERROR_STATUS[code]} \\|`), `README documents ${code} with status ${ERROR_STATUS[code]}`);
  }
});

test('a body with __proto__ or constructor keys is refused, not merged', async (t) => {
  const { app } = await startEmbedded(t);
  for (const body of ['{"events": [], "__proto__": {"x": 1}}', '{"events": [{"op": "like", "postId": "a", "userId": "b", "constructor": {"prototype": {}}}]}']) {
    const res = await app.api?.inject({ method: 'POST', url: '/v1/events', payload: body, headers: { 'content-type': 'application/json' } });
    assert.equal(res?.statusCode, 400, body);
    assert.equal(res?.json<{ error: { code: string } }>().error.code, 'invalid_body');
  }
});
