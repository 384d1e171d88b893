import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCountCache } from '../adapters/memory/memory-count-cache.ts';
import { MemoryCountNotifier } from '../adapters/memory/memory-count-notifier.ts';
import type { Options } from '../config/options.ts';
import { InProcessProgress } from '../stages/progress/in-process-progress.ts';
import { PipelineWorkerStage } from '../stages/pipeline/pipeline-worker-stage.ts';
import type { PortSet, StageContext } from './port-set.ts';
import { openSqliteAdapters } from './sqlite-adapters.ts';

/**
 * Embedded mode: the log in `<data>/log.db`, likes store, change feed and counters in
 * `<data>/tally.db` (two files, so the api's fsynced appends never wait on the stages' write
 * lock), the cache in process. With `pipelineThread`, ingest, counter and reconcile run in a
 * worker thread on their own connections; this thread's likes store and counter store then only
 * serve reads.
 */
export function createEmbeddedPorts(options: Options): PortSet {
  const tracker = new InProcessProgress();
  let closed = false;
  let pipeline: PipelineWorkerStage | undefined;
  const sqlite = openSqliteAdapters(options, options.pipelineThread ? 'api' : 'all', { onCommitted: () => pipeline?.appended() });
  const cache = new MemoryCountCache({ maxEntries: options.cacheEntries });
  const notifier = new MemoryCountNotifier();
  const extraStages = new Map<string, (context: StageContext) => PipelineWorkerStage>();
  if (options.pipelineThread) {
    extraStages.set('pipeline', ({ metrics, log: logger }) => (pipeline = new PipelineWorkerStage({ options, tracker, cache, notifier, metrics, log: logger, workerUrl: new URL('./pipeline-worker.ts', import.meta.url) })));
  }
  return {
    mode: 'embedded',
    events: sqlite.events,
    likes: sqlite.likes,
    feed: sqlite.feed,
    counters: sqlite.counters,
    cache,
    notifier,
    progress: tracker,
    tracker,
    extraStages,
    likedPairs: {
      source: sqlite.likes,
      // The store's ingest positions are committed with its rows: once they reach the log's end
      // at the call, every like the log held then has its row.
      async caughtUp() {
        const end = sqlite.events.endPositions();
        for (;;) {
          if (closed) throw new Error('closed before ingest caught up with the log');
          const stored = new Map((await sqlite.likes.logPositions()).map((p) => [p.partition, p.offset]));
          if (end.every((p) => (stored.get(p.partition) ?? 0) >= p.offset)) return;
          await sleep(50);
        }
      },
    },
    async init() {
      await sqlite.init();
      await cache.init();
      await notifier.init();
    },
    async close() {
      closed = true;
      tracker.close();
      await notifier.close();
      await cache.close();
      await sqlite.close();
    },
    describe: () => `embedded database ${sqlite.storeDb.path} (log ${sqlite.logDb.path})${options.pipelineThread ? ', pipeline in a worker thread' : ''}`,
  };
}
