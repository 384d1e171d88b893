import { SqliteChangeFeed } from '../adapters/sqlite/sqlite-change-feed.ts';
import { SqliteCounterStore } from '../adapters/sqlite/sqlite-counter-store.ts';
import { SqliteDatabase } from '../adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../adapters/sqlite/sqlite-likes-store.ts';
import type { Options } from '../config/options.ts';
import type { Lifecycle } from '../ports/lifecycle.ts';

/**
 * Which thread opens the embedded files: `api` (the api thread when the pipeline runs in a worker
 * thread: it appends to the log and reads the stores), `pipeline` (that worker thread: it ingests,
 * counts and checkpoints the store), or `all` (one thread does everything).
 */
export type SqliteThreadRole = 'api' | 'pipeline' | 'all';

/** The embedded adapters over the two files of `--data`, opened for one thread. */
export interface SqliteAdapters {
  readonly logDb: SqliteDatabase;
  readonly storeDb: SqliteDatabase;
  readonly events: SqliteEventLog;
  readonly likes: SqliteLikesStore;
  readonly feed: SqliteChangeFeed;
  readonly counters: SqliteCounterStore;
  init(): Promise<void>;
  /** Closes the adapters, then the files. */
  close(): Promise<void>;
}

/**
 * The one place that builds the embedded mode's SQLite adapters, for the api thread and for the
 * pipeline worker thread alike. Each file gets only its own tables; the thread that writes a file
 * checkpoints it; just-written records are kept as objects only where a reader in the same
 * thread takes them.
 */
export function openSqliteAdapters(options: Options, role: SqliteThreadRole, hooks: { onCommitted?: () => void } = {}): SqliteAdapters {
  const logDb = new SqliteDatabase(options.dataDir, { file: 'log.db', roles: ['log'], checkpointer: role !== 'pipeline', keepRecent: role === 'all' });
  const storeDb = new SqliteDatabase(options.dataDir, { file: 'tally.db', roles: ['store'], checkpointer: role !== 'api', keepRecent: role !== 'api' });
  const events = new SqliteEventLog(logDb, { partitions: options.partitions, maxPendingEvents: options.maxPendingEvents, ...hooks });
  const likes = new SqliteLikesStore(storeDb, { shards: options.likesShards });
  const feed = new SqliteChangeFeed(storeDb);
  const counters = new SqliteCounterStore(storeDb);
  const adapters: Lifecycle[] = [events, likes, feed, counters];
  return {
    logDb,
    storeDb,
    events,
    likes,
    feed,
    counters,
    async init() {
      for (const adapter of adapters) await adapter.init();
    },
    async close() {
      for (const adapter of [...adapters].reverse()) await adapter.close();
      storeDb.close();
      logDb.close();
    },
  };
}
