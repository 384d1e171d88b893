import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { App } from '../../../src/composition/app.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';

interface TabPage {
  items: { postId: string; likedAt: string }[];
  nextCursor: string | null;
}

async function send(app: App, method: 'PUT' | 'DELETE' | 'POST', url: string, payload?: unknown): Promise<void> {
  const res = await app.api?.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  assert.equal(res?.statusCode, 202, `${method} ${url}: ${res?.body}`);
}

async function tabPage(app: App, userId: string, query: string): Promise<TabPage> {
  const res = await app.api?.inject({ method: 'GET', url: `/v1/users/${userId}/likes${query}` });
  assert.equal(res?.statusCode, 200, res?.body);
  return res?.json<TabPage>() ?? { items: [], nextCursor: null };
}

test('GET /v1/users/{userId}/likes walks the Likes tab newest first, while the user keeps liking and unliking', async (t) => {
  const { app } = await startEmbedded(t);
  const posts = Array.from({ length: 120 }, (_, i) => `lt${i}`);
  for (let i = 0; i < posts.length; i += 20) {
    await send(app, 'POST', '/v1/events?wait=applied', { events: posts.slice(i, i + 20).map((postId) => ({ op: 'like', postId, userId: 'walker' })) });
  }
  await send(app, 'PUT', '/v1/posts/lt0/likes/someone-else?wait=applied');
  await send(app, 'PUT', '/v1/posts/not-walkers/likes/someone-else?wait=applied');
  const removed = new Set<string>();
  const seen: TabPage['items'] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: TabPage = await tabPage(app, 'walker', `?limit=11${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    assert.ok(page.items.length <= 11);
    seen.push(...page.items);
    cursor = page.nextCursor;
    pages++;
    // Between pages: a new like (newer than anything walked) and an unlike of a post not yet walked.
    await send(app, 'PUT', `/v1/posts/fresh${pages}/likes/walker?wait=applied`);
    const victim = `lt${pages * 7}`;
    if (!seen.some((item) => item.postId === victim)) {
      removed.add(victim);
      await send(app, 'DELETE', `/v1/posts/${victim}/likes/walker?wait=applied`);
    }
  } while (cursor !== null && pages < 100);
  const ids = seen.map((item) => item.postId);
  assert.equal(new Set(ids).size, ids.length, 'no post appears twice across pages');
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1], seen[i]] as [TabPage['items'][number], TabPage['items'][number]];
    const [ta, tb] = [Date.parse(a.likedAt), Date.parse(b.likedAt)];
    assert.ok(ta > tb || (ta === tb && a.postId < b.postId), `newest first at ${i}: ${JSON.stringify([a, b])}`);
  }
  assert.match(seen[0]?.likedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(ids.filter((p) => p.startsWith('lt')).sort(), posts.filter((p) => !removed.has(p)).sort(), 'every like older than the walk and not removed is seen exactly once');
  assert.ok(!ids.includes('not-walkers'));
  // The newest likes lead a fresh first page.
  const first = await tabPage(app, 'walker', '?limit=2');
  assert.deepEqual(first.items.map((i) => i.postId), [`fresh${pages}`, `fresh${pages - 1}`]);
});

test('an unknown user has an empty Likes tab; limit defaults to 20 and is bounded like the likers list', async (t) => {
  const { app } = await startEmbedded(t);
  assert.deepEqual(await tabPage(app, 'nobody', ''), { items: [], nextCursor: null });
  await send(app, 'POST', '/v1/events?wait=applied', { events: Array.from({ length: 25 }, (_, i) => ({ op: 'like', postId: `d${i}`, userId: 'many' })) });
  const page = await tabPage(app, 'many', '');
  assert.equal(page.items.length, 20);
  assert.ok(page.nextCursor !== null);
  assert.equal((await tabPage(app, 'many', '?limit=1000')).items.length, 25);
  for (const [query, code] of [['?limit=0', 'invalid_query'], ['?limit=1001', 'invalid_query'], ['?limit=x', 'invalid_query'], [`?cursor=${'c'.repeat(201)}`, 'invalid_query'], ['?cursor=bm9wZQ', 'invalid_cursor']] as const) {
    const res = await app.api?.inject({ method: 'GET', url: `/v1/users/many/likes${query}` });
    assert.equal(res?.statusCode, 400, `${query}: ${res?.body}`);
    assert.equal(res?.json<{ error: { code: string } }>().error.code, code, query);
  }
  // A likers cursor is not a Likes tab cursor, nor the other way round.
  await send(app, 'POST', '/v1/events?wait=applied', { events: [{ op: 'like', postId: 'd0', userId: 'other' }] });
  const likers = (await app.api?.inject({ method: 'GET', url: '/v1/posts/d0/likes?limit=1' }))?.json<{ nextCursor: string }>();
  const wrong = await app.api?.inject({ method: 'GET', url: `/v1/users/many/likes?cursor=${encodeURIComponent(likers?.nextCursor ?? '')}` });
  assert.equal(wrong?.json<{ error: { code: string } }>().error.code, 'invalid_cursor');
  const back = await app.api?.inject({ method: 'GET', url: `/v1/posts/d0/likes?cursor=${encodeURIComponent(page.nextCursor ?? '')}` });
  assert.equal(back?.json<{ error: { code: string } }>().error.code, 'invalid_cursor');
});
