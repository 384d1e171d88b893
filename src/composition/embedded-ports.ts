import { MemoryCountCache } from '../adapters/memory/memory-count-cache.ts';
import { MemoryCountNotifier } from '../adapters/memory/memory-count-notifier.ts';
import { SqliteChangeFeed } from '../adapters/sqlite/sqlite-change-feed.ts';
import { SqliteCounterStore } from '../adapters/sqlite/sqlite-counter-store.ts';
import { SqliteDatabase } from '../adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../adapters/sqlite/sqlite-likes-store.ts';
import type { Options } from '../config/options.ts';
import { InProcessProgress } from '../stages/progress/in-process-progress.ts';
import { PipelineWorkerStage } from './pipeline-worker-stage.ts';
import type { PortSet, StageContext } from './port-set.ts';

/**
 * Embedded mode: the log in `<data>/log.db`, likes store, change feed and counters in
 * `<data>/tally.db` (two files, so the api's fsynced appends never wait on the stages' write
 * lock), the cache in process. With `pipelineThread`, ingest, counter and reconcile run in a
 * worker thread on their own connections; this thread's likes store and counter store then only
 * serve reads.
 */
export function createEmbeddedPorts(options: Options): PortSet {
  const logDb = new SqliteDatabase(options.dataDir, { file: 'log.db' });
  const storeDb = new SqliteDatabase(options.dataDir, { file: 'tally.db', checkpointer: !options.pipelineThread });
  const tracker = new InProcessProgress();
  let pipeline: PipelineWorkerStage | undefined;
  const log = new SqliteEventLog(logDb, {
    partitions: options.partitions,
    maxPendingEvents: options.maxPendingEvents,
    onCommitted: () => pipeline?.appended(),
  });
  const likes = new SqliteLikesStore(storeDb, { shards: options.likesShards });
  const feed = new SqliteChangeFeed(storeDb);
  const counters = new SqliteCounterStore(storeDb);
  const cache = new MemoryCountCache({ maxEntries: options.cacheEntries });
  const notifier = new MemoryCountNotifier();
  const adapters = [log, likes, feed, counters, cache, notifier];
  const extraStages = new Map<string, (context: StageContext) => PipelineWorkerStage>();
  if (options.pipelineThread) {
    extraStages.set('pipeline', ({ metrics, log: logger }) => (pipeline = new PipelineWorkerStage({ options, tracker, cache, notifier, metrics, log: logger })));
  }
  return {
    mode: 'embedded',
    log,
    likes,
    feed,
    counters,
    cache,
    notifier,
    progress: tracker,
    tracker,
    extraStages,
    async init() {
      for (const adapter of adapters) await adapter.init();
    },
    async close() {
      tracker.close();
      for (const adapter of adapters.reverse()) await adapter.close();
      storeDb.close();
      logDb.close();
    },
    describe: () => `embedded database ${storeDb.path} (log ${logDb.path})${options.pipelineThread ? ', pipeline in a worker thread' : ''}`,
  };
}
