import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { PAGE_SIZE, SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-sqlite-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function pageSizeOf(db: SqliteDatabase): number {
  return (db.connection.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
}

test('a new database file is created with 16 KiB pages, in WAL mode', (t) => {
  const dir = tempDir(t);
  const db = new SqliteDatabase(dir, { checkpointer: false });
  t.after(() => db.close());
  assert.equal(PAGE_SIZE, 16384);
  assert.equal(pageSizeOf(db), PAGE_SIZE);
  assert.equal((db.connection.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
});

test('a file made with 4 KiB pages (before this change) keeps them, its rows and its Likes tab', async (t) => {
  const dir = tempDir(t);
  const old = new DatabaseSync(join(dir, 'tally.db'));
  old.exec('PRAGMA page_size = 4096');
  old.exec('PRAGMA journal_mode = WAL');
  old.close();
  const first = new SqliteDatabase(dir, { checkpointer: false });
  assert.equal(pageSizeOf(first), 4096);
  const likes = new SqliteLikesStore(first, { shards: 8 });
  await likes.init();
  await likes.apply([
    { op: 'like', postId: 'p1', userId: 'u1', at: 10 },
    { op: 'like', postId: 'p2', userId: 'u1', at: 20 },
  ]);
  first.close();
  const reopened = new SqliteDatabase(dir, { checkpointer: false });
  t.after(() => reopened.close());
  assert.equal(pageSizeOf(reopened), 4096);
  const again = new SqliteLikesStore(reopened, { shards: 8 });
  await again.init();
  const page = await again.likesOf('u1', 10, undefined);
  assert.deepEqual(page.items, [{ postId: 'p2', likedAt: 20 }, { postId: 'p1', likedAt: 10 }]);
});
