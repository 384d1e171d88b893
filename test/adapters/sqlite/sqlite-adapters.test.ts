import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteChangeFeed } from '../../../src/adapters/sqlite/sqlite-change-feed.ts';
import { SqliteCounterStore } from '../../../src/adapters/sqlite/sqlite-counter-store.ts';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { eventLogConformance } from '../../conformance/event-log.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';

function freshDatabase(): { db: SqliteDatabase; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tally-sqlite-'));
  const db = new SqliteDatabase(dir);
  return { db, remove: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

eventLogConformance('sqlite', async () => {
  const { db, remove } = freshDatabase();
  const log = new SqliteEventLog(db, { partitions: 4, maxPendingEvents: 100_000 });
  await log.init();
  return { log, cleanup: async () => { await log.close(); remove(); } };
});

const makeLikesStore = async (options: { mergeOften?: boolean } = {}): Promise<LikesStoreFixture> => {
  const { db, remove } = freshDatabase();
  // mergeOften: the Likes tab's recent level merges into the main one after a few rows, so every
  // case also runs with rows in both levels and rounds under way.
  const likes = new SqliteLikesStore(db, { shards: 8, ...(options.mergeOften === true ? { userLikesLevels: { minRecent: 3, ratio: 2, minChunk: 2 } } : {}) });
  const feed = new SqliteChangeFeed(db);
  await likes.init();
  await feed.init();
  return { likes, feed, cleanup: async () => remove() };
};

likesStoreConformance('sqlite', () => makeLikesStore());
likesStoreErasureConformance('sqlite', () => makeLikesStore());
likesStoreConformance('sqlite, Likes tab merging every few rows', () => makeLikesStore({ mergeOften: true }));
likesStoreErasureConformance('sqlite, Likes tab merging every few rows', () => makeLikesStore({ mergeOften: true }));

counterStoreConformance('sqlite', async () => {
  const { db, remove } = freshDatabase();
  const counters = new SqliteCounterStore(db);
  await counters.init();
  return { counters, cleanup: async () => remove() };
});
