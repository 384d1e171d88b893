import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { App } from '../../../src/composition/app.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';

async function put(app: App, url: string, method: 'PUT' | 'DELETE' = 'PUT'): Promise<void> {
  const res = await app.api?.inject({ method, url });
  assert.equal(res?.statusCode, 202, `${method} ${url}: ${res?.body}`);
}

test('GET /v1/posts/{postId}/likes/{userId} says whether the user has liked the post', async (t) => {
  const { app } = await startEmbedded(t);
  const liked = async (userId: string): Promise<boolean> => {
    const res = await app.api?.inject({ method: 'GET', url: `/v1/posts/hl1/likes/${userId}` });
    assert.equal(res?.statusCode, 200);
    return res?.json<{ liked: boolean }>().liked ?? false;
  };
  await put(app, '/v1/posts/hl1/likes/alice?wait=applied');
  assert.equal(await liked('alice'), true);
  assert.equal(await liked('bob'), false, 'a user who never liked');
  await put(app, '/v1/posts/hl1/likes/alice?wait=applied', 'DELETE');
  assert.equal(await liked('alice'), false, 'after the unlike');
  await put(app, '/v1/posts/hl1/likes/alice?wait=applied');
  assert.equal(await liked('alice'), true, 'like → unlike → like ends liked');
});

interface Page {
  items: { userId: string; likedAt: string }[];
  nextCursor?: string | null;
}

test('the likers cursor walks every page newest first, while likes and unlikes keep arriving', async (t) => {
  const { app } = await startEmbedded(t);
  const first = Array.from({ length: 230 }, (_, i) => ({ op: 'like', postId: 'pg1', userId: `u${i}` }));
  for (let i = 0; i < first.length; i += 23) {
    const res = await app.api?.inject({ method: 'POST', url: '/v1/events?wait=applied', payload: { events: first.slice(i, i + 23) } });
    assert.equal(res?.statusCode, 202);
  }
  const removed = new Set<string>();
  const seen: Page['items'] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await app.api?.inject({ method: 'GET', url: `/v1/posts/pg1/likes?limit=17${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}` });
    assert.equal(res?.statusCode, 200, res?.body);
    const page = res?.json<Page>() ?? { items: [] };
    assert.ok(page.items.length <= 17);
    seen.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    pages++;
    // Between pages: new likes (newer than anything walked) and unlikes of users not yet walked.
    await put(app, `/v1/posts/pg1/likes/new${pages}?wait=applied`);
    const victim = `u${pages * 3}`;
    if (!seen.some((item) => item.userId === victim)) {
      removed.add(victim);
      await put(app, `/v1/posts/pg1/likes/${victim}?wait=applied`, 'DELETE');
    }
  } while (cursor !== undefined && pages < 100);
  const users = seen.map((item) => item.userId);
  assert.equal(new Set(users).size, users.length, 'no user appears twice across pages');
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1], seen[i]] as [Page['items'][number], Page['items'][number]];
    // Newest first; likes of the same millisecond by user id, ascending.
    const [ta, tb] = [Date.parse(a.likedAt), Date.parse(b.likedAt)];
    assert.ok(ta > tb || (ta === tb && a.userId < b.userId), `newest first at ${i}: ${JSON.stringify([a, b])}`);
  }
  const expected = first.map((e) => e.userId).filter((u) => !removed.has(u));
  assert.deepEqual(users.filter((u) => u.startsWith('u')).sort(), expected.sort(), 'every like older than the walk and not removed is seen exactly once');
  assert.ok(pages >= Math.ceil(expected.length / 17), `${pages} pages for ${expected.length} likers`);
});

test('GET /v1/counts answers the Counts body as JSON: every post once, flags with viewer, ids that look like numbers', async (t) => {
  const { app } = await startEmbedded(t);
  await put(app, '/v1/posts/12/likes/v1');
  await put(app, '/v1/posts/c-a/likes/v2?wait=applied');
  const res = await app.api?.inject({ method: 'GET', url: '/v1/counts?posts=c-a,12,never_liked,12&viewer=v1' });
  assert.equal(res?.statusCode, 200);
  assert.match(res?.headers['content-type'] ?? '', /^application\/json/);
  assert.deepEqual(res?.json(), { counts: { 'c-a': 1, '12': 1, never_liked: 0 }, liked: { 'c-a': false, '12': true, never_liked: false } });
  const plain = await app.api?.inject({ method: 'GET', url: '/v1/counts?posts=never_liked,c-a' });
  assert.deepEqual(plain?.json(), { counts: { never_liked: 0, 'c-a': 1 } });
});

test("GET /v1/posts/{id}/count with viewer adds the viewer's liked flag, which follows a like and an unlike", async (t) => {
  const { app } = await startEmbedded(t);
  const count = async (query: string): Promise<unknown> => (await app.api?.inject({ method: 'GET', url: `/v1/posts/one/count${query}` }))?.json();
  assert.deepEqual(await count('?viewer=v1'), { postId: 'one', count: 0, liked: false });
  await put(app, '/v1/posts/one/likes/v1?wait=applied');
  await put(app, '/v1/posts/one/likes/v2?wait=applied');
  assert.deepEqual(await count('?viewer=v1'), { postId: 'one', count: 2, liked: true });
  assert.deepEqual(await count('?viewer=v3'), { postId: 'one', count: 2, liked: false });
  assert.deepEqual(await count(''), { postId: 'one', count: 2 }, 'no viewer, no flag');
  await put(app, '/v1/posts/one/likes/v1?wait=applied', 'DELETE');
  assert.deepEqual(await count('?viewer=v1'), { postId: 'one', count: 1, liked: false });
});
