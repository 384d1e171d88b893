import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { mulberry32 } from '../../../bench/prng.ts';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';
import { SqliteUserLikes, type UserLikesLevelsOptions } from '../../../src/adapters/sqlite/sqlite-user-likes.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';

/** The Likes tab of `userId` in the model: newest first, ties by post id. */
function modelTab(model: Map<string, Map<string, number>>, userId: string): { postId: string; likedAt: number }[] {
  return [...(model.get(userId) ?? new Map<string, number>())]
    .map(([postId, likedAt]) => ({ postId, likedAt }))
    .sort((a, b) => b.likedAt - a.likedAt || (a.postId < b.postId ? -1 : a.postId > b.postId ? 1 : 0));
}

/** A likes store on a fresh folder with these merge settings, and a view of its two levels. */
async function openStore(t: { after: (fn: () => void) => void }, userLikesLevels: UserLikesLevelsOptions): Promise<{ store: SqliteLikesStore; levels: SqliteUserLikes }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-user-likes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = new SqliteDatabase(dir);
  t.after(() => db.close());
  const store = new SqliteLikesStore(db, { shards: 4, userLikesLevels });
  await store.init();
  return { store, levels: new SqliteUserLikes(db) };
}

async function readTab(store: SqliteLikesStore, userId: string, pageSize: number): Promise<{ postId: string; likedAt: number }[]> {
  const items: { postId: string; likedAt: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.likesOf(userId, pageSize, cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return items;
}

test('the Likes tab in two levels equals a model through likes, unlikes and re-likes while merge rounds run', async (t) => {
  // A round starts at 40 recent rows and moves 4 rows per like applied (at least 3) in each batch,
  // so rounds span batches: rows sit in both levels, on both sides of a round's cursor.
  const { store, levels } = await openStore(t, { minRecent: 40, ratio: 3, minChunk: 3 });
  const random = mulberry32(7); // seeded: a failure replays
  const model = new Map<string, Map<string, number>>();
  const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
  const posts = Array.from({ length: 30 }, (_, i) => `p${i}`);
  let at = 1_000;
  let sawBothLevels = false;
  for (let round = 0; round < 60; round++) {
    const events: LikeEvent[] = [];
    for (let i = 0; i < 1 + Math.floor(random() * 25); i++) {
      const userId = users[Math.floor(random() * users.length)] as string;
      const postId = posts[Math.floor(random() * posts.length)] as string;
      // Some likes share a millisecond, so ties order by post id.
      if (random() < 0.7) at += 1;
      const op = random() < 0.65 ? 'like' : 'unlike';
      events.push({ op, postId, userId, at });
    }
    await store.apply(events);
    // The model: the last event of each pair decides; a like of a pair already liked keeps its time.
    const last = new Map<string, LikeEvent>();
    for (const event of events) last.set(`${event.userId} ${event.postId}`, event);
    for (const event of last.values()) {
      const mine = model.get(event.userId) ?? new Map<string, number>();
      model.set(event.userId, mine);
      if (event.op === 'like') {
        if (!mine.has(event.postId)) mine.set(event.postId, event.at);
      } else mine.delete(event.postId);
    }
    const { recent, main } = levels.levels();
    if (recent > 0 && main > 0) sawBothLevels = true;
    for (const userId of users) assert.deepEqual(await readTab(store, userId, 1 + (round % 4)), modelTab(model, userId), `round ${round}, ${userId}`);
  }
  assert.ok(sawBothLevels, 'rows sat in both levels at some point');
  const before = levels.levels();
  assert.ok(before.main > 0, `merges moved rows into the main level (${JSON.stringify(before)})`);
  levels.mergeAll();
  assert.equal(levels.levels().recent, 0, 'a full merge empties the recent level');
  const liked = [...model.values()].reduce((n, m) => n + m.size, 0);
  assert.equal(levels.levels().main, liked, 'the main level then holds exactly the liked pairs');
  for (const userId of users) assert.deepEqual(await readTab(store, userId, 5), modelTab(model, userId), `after the full merge, ${userId}`);
});

test('a merge round starts once the recent level holds the rows that start one, counting the first batch once', async (t) => {
  const { store, levels } = await openStore(t, { minRecent: 100, ratio: 1000, minChunk: 10 });
  let at = 1;
  const likes = (n: number): LikeEvent[] => Array.from({ length: n }, () => ({ op: 'like', postId: `p${at % 13}`, userId: `u${at}`, at: at++ }));
  await store.apply(likes(60));
  assert.deepEqual(levels.levels(), { recent: 60, main: 0 }, '60 rows (counted once, not 120): no round yet');
  await store.apply(likes(30));
  assert.deepEqual(levels.levels(), { recent: 90, main: 0 }, '90 rows: still none');
  await store.apply(likes(10));
  const after = levels.levels();
  assert.ok(after.main > 0, `at 100 rows a round starts and moves a chunk (${JSON.stringify(after)})`);
  assert.equal(after.main + after.recent, 100);
});

test('a store file with the earlier by-user index opens with every like in the Likes tab and the index dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-user-likes-old-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The store's likes table and by-user index as the previous version created them.
  const old = new DatabaseSync(join(dir, 'tally.db'));
  old.exec(`CREATE TABLE likes (post_id TEXT NOT NULL, shard INTEGER NOT NULL, user_id TEXT NOT NULL, liked_at INTEGER NOT NULL, PRIMARY KEY (post_id, shard, user_id)) WITHOUT ROWID;
    CREATE INDEX likes_newest_first ON likes (post_id, liked_at DESC, user_id);
    CREATE INDEX likes_by_user ON likes (user_id, liked_at DESC, post_id);`);
  const insert = old.prepare('INSERT INTO likes VALUES (?, ?, ?, ?)');
  for (let i = 0; i < 50; i++) insert.run(`p${i % 7}`, i % 3, `u${i % 5}`, 10_000 + i);
  old.close();

  const db = new SqliteDatabase(dir);
  t.after(() => db.close());
  const store = new SqliteLikesStore(db, { shards: 4 });
  await store.init();
  const index = db.connection.prepare("SELECT name FROM sqlite_master WHERE name = 'likes_by_user'").get();
  assert.equal(index, undefined, 'the by-user index is dropped');
  const reference = new DatabaseSync(join(dir, 'tally.db'), { readOnly: true });
  t.after(() => reference.close());
  for (let u = 0; u < 5; u++) {
    const expected = (reference.prepare('SELECT post_id, liked_at FROM likes WHERE user_id = ? ORDER BY liked_at DESC, post_id').all(`u${u}`) as { post_id: string; liked_at: number }[]).map((r) => ({ postId: r.post_id, likedAt: r.liked_at }));
    assert.ok(expected.length > 0);
    assert.deepEqual(await readTab(store, `u${u}`, 3), expected, `u${u}'s tab holds the likes written before the upgrade`);
  }
  // Opening it again copies nothing twice.
  const again = new SqliteDatabase(dir, { checkpointer: false });
  again.close();
  assert.equal(new SqliteUserLikes(db).levels().main, 50);
});
