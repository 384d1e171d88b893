import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { PAGE_SIZE, SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-sqlite-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const like = (postId: string, userId: string): LikeEvent => ({ op: 'like', postId, userId, at: 1 });

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

test('tryTransaction gives up at once while another connection holds the write lock, and runs once it is free', (t) => {
  const dir = tempDir(t);
  const holder = new SqliteDatabase(dir, { file: 'log.db', roles: ['log'], checkpointer: false });
  const other = new SqliteDatabase(dir, { file: 'log.db', roles: ['log'], checkpointer: false });
  t.after(() => {
    other.close();
    holder.close();
  });
  const write = (db: SqliteDatabase, value: string) => () => db.connection.prepare("INSERT OR REPLACE INTO log_settings (key, value) VALUES ('k', ?)").run(value);
  holder.connection.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  assert.equal(other.tryTransaction('crash-safe', write(other, 'skipped')), undefined);
  assert.ok(performance.now() - started < 100, 'no wait behind the lock');
  holder.connection.exec('COMMIT');
  assert.notEqual(other.tryTransaction('crash-safe', write(other, 'stored')), undefined);
  assert.equal((holder.connection.prepare("SELECT value FROM log_settings WHERE key = 'k'").get() as { value: string }).value, 'stored');
  // The connection waits behind a lock again for its other transactions.
  assert.equal((other.connection.prepare('PRAGMA busy_timeout').get() as { timeout: number }).timeout, 10_000);
});

test("the embedded log's consumer stores its positions when the write lock is free: a commit behind another writer waits for the next one, or for close", async (t) => {
  const dir = tempDir(t);
  const db = new SqliteDatabase(dir, { file: 'log.db', roles: ['log'], checkpointer: false });
  const other = new SqliteDatabase(dir, { file: 'log.db', roles: ['log'], checkpointer: false });
  const log = new SqliteEventLog(db, { partitions: 1, maxPendingEvents: 1000 });
  await log.init();
  t.after(async () => {
    await log.close();
    other.close();
    db.close();
  });
  await log.append([like('p1', 'u1')]);
  await log.append([like('p1', 'u2')]);
  const stored = (): unknown[] => other.connection.prepare("SELECT partition, next_offset FROM log_consumer_positions WHERE consumer_group = 'g'").all().map((row) => ({ ...row }));
  const consumer = await log.consumer({ group: 'g', maxEvents: 1, maxWaitMs: 0 });
  const first = await consumer.poll(10);
  other.connection.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  await consumer.commit(first);
  assert.ok(performance.now() - started < 100, 'the commit did not wait behind the lock');
  other.connection.exec('COMMIT');
  assert.deepEqual(stored(), [], 'not stored while the lock was taken');
  await consumer.commit({ events: [], positions: [] });
  assert.deepEqual(stored(), [{ partition: 0, next_offset: 1 }], 'stored with the next commit');
  const second = await consumer.poll(10);
  other.connection.exec('BEGIN IMMEDIATE');
  await consumer.commit(second);
  other.connection.exec('COMMIT');
  await consumer.close();
  assert.deepEqual(stored(), [{ partition: 0, next_offset: 2 }], 'stored at close');
});
