import { MemoryCountCache } from '../adapters/memory/memory-count-cache.ts';
import { SqliteChangeFeed } from '../adapters/sqlite/sqlite-change-feed.ts';
import { SqliteCounterStore } from '../adapters/sqlite/sqlite-counter-store.ts';
import { SqliteDatabase } from '../adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../adapters/sqlite/sqlite-likes-store.ts';
import type { Options } from '../config/options.ts';
import { InProcessProgress } from '../stages/progress/in-process-progress.ts';
import type { PortSet } from './port-set.ts';

/** Embedded mode: log, likes store, change feed and counters in one SQLite file; cache in process. */
export function createEmbeddedPorts(options: Pick<Options, 'dataDir' | 'partitions' | 'likesShards' | 'maxPendingEvents' | 'cacheEntries'>): PortSet {
  const db = new SqliteDatabase(options.dataDir);
  const tracker = new InProcessProgress();
  const log = new SqliteEventLog(db, { partitions: options.partitions, maxPendingEvents: options.maxPendingEvents });
  const likes = new SqliteLikesStore(db, { shards: options.likesShards });
  const feed = new SqliteChangeFeed(db);
  const counters = new SqliteCounterStore(db);
  const cache = new MemoryCountCache({ maxEntries: options.cacheEntries });
  const adapters = [log, likes, feed, counters, cache];
  return {
    mode: 'embedded',
    log,
    likes,
    feed,
    counters,
    cache,
    progress: tracker,
    tracker,
    extraStages: new Map(),
    async init() {
      for (const adapter of adapters) await adapter.init();
    },
    async close() {
      tracker.close();
      for (const adapter of adapters.reverse()) await adapter.close();
      db.close();
    },
    describe: () => `embedded database ${db.path}`,
  };
}
