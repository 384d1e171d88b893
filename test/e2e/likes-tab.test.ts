/**
 * The Likes tab end to end, over real sockets and real processes: `./tally serve` embedded, and
 * `./tally serve --distributed` on each store profile (PostgreSQL, DynamoDB on moto, Cassandra).
 * Random likes and unlikes by a few users over a few posts, then every user's Likes tab, walked
 * page by page, must equal the independent model; likes of one request share a millisecond, so
 * the tie order (post id) is exercised too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { STORE_NAMES, type StoreName } from '../../src/config/store-names.ts';
import { CONTACT_POINTS } from '../adapters/cassandra/cassandra-fixture.ts';
import { DYNAMODB_ENDPOINT } from '../adapters/dynamodb/dynamo-fixture.ts';
import { distributedNamespace, dropDistributedNamespace, serverFlags } from '../helpers/distributed-namespace.ts';
import { LikesModel } from '../helpers/likes-model.ts';
import { startServer } from '../helpers/server-process.ts';

const USERS = ['ann', 'ben', 'cat'];
const POSTS = 12;

type Event = { op: 'like' | 'unlike'; postId: string; userId: string };

interface TabItem {
  postId: string;
  likedAt: string;
}

/** A small deterministic generator, so a failure replays. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function write(url: string, events: Event[]): Promise<void> {
  const res = await fetch(`${url}/v1/events?wait=applied`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  assert.equal(res.status, 202, await res.text());
}

/** Every page of a user's Likes tab, checking the order and the page bound on the way. */
async function walkTab(url: string, userId: string, limit: number): Promise<TabItem[]> {
  const items: TabItem[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const res = await fetch(`${url}/v1/users/${userId}/likes?limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    const body = (await res.json()) as { items: TabItem[]; nextCursor: string | null };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.items.length <= limit);
    items.push(...body.items);
    cursor = body.nextCursor;
    if (cursor === null) break;
  }
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1], items[i]] as [TabItem, TabItem];
    const [ta, tb] = [Date.parse(a.likedAt), Date.parse(b.likedAt)];
    assert.ok(ta > tb || (ta === tb && a.postId < b.postId), `${userId}: newest first, ties by post id, at ${i}: ${JSON.stringify([a, b])}`);
  }
  return items;
}

async function checkLikesTab(t: TestContext, url: string, seed: number): Promise<void> {
  const random = prng(seed);
  const model = new LikesModel();
  for (let round = 0; round < 8; round++) {
    const events: Event[] = Array.from({ length: 15 }, () => ({
      op: random() < 0.7 ? 'like' : 'unlike',
      postId: `lt${Math.floor(random() * POSTS)}`,
      userId: USERS[Math.floor(random() * USERS.length)] as string,
    }));
    await write(url, events);
    model.apply(events);
  }
  for (const userId of USERS) {
    const tab = await walkTab(url, userId, 3);
    const posts = tab.map((i) => i.postId);
    assert.equal(new Set(posts).size, posts.length, `${userId}: no post twice`);
    assert.deepEqual([...posts].sort(), model.postsOf(userId), `${userId}: the Likes tab equals the model`);
  }
  const empty = await fetch(`${url}/v1/users/nobody/likes`);
  assert.deepEqual(await empty.json(), { items: [], nextCursor: null });
  const forged = await fetch(`${url}/v1/users/ann/likes?cursor=bm9wZQ`);
  assert.equal(forged.status, 400);
  assert.equal(((await forged.json()) as { error: { code: string } }).error.code, 'invalid_cursor');
  t.diagnostic(`likes in the model: ${USERS.map((u) => `${u} ${model.postsOf(u).length}`).join(', ')}`);
}

test('embedded ./tally serve: every Likes tab equals the model, page by page', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-tab-'));
  const server = await startServer(['serve', '--port', '0', '--data', dir, '--log-level', 'warn', '--reconcile-interval-ms', '0']);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  await checkLikesTab(t, server.url, 15);
});

const STORE_FLAGS: Record<StoreName, string[]> = {
  postgres: [],
  dynamodb: ['--dynamodb-endpoint', DYNAMODB_ENDPOINT],
  cassandra: ['--cassandra-contact-points', CONTACT_POINTS, '--hot-shards', '1'],
};

for (const store of STORE_NAMES) {
  test(`distributed ./tally serve --store ${store}: every Likes tab equals the model, page by page`, { timeout: 240_000 }, async (t) => {
    const ns = distributedNamespace();
    t.after(() => dropDistributedNamespace(ns, store));
    const server = await startServer(
      ['serve', '--distributed', '--store', store, ...STORE_FLAGS[store], ...serverFlags(ns), '--port', '0', '--partitions', '2', '--log-level', 'warn', '--reconcile-interval-ms', '0', '--wait-applied-ms', '30000'],
      {},
      120_000,
    );
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    await checkLikesTab(t, server.url, 15 + store.length);
  });
}
