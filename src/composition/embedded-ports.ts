import { MemoryCountCache } from '../adapters/memory/memory-count-cache.ts';
import { MemoryCountNotifier } from '../adapters/memory/memory-count-notifier.ts';
import type { Options } from '../config/options.ts';
import { InProcessProgress } from '../stages/progress/in-process-progress.ts';
import { PipelineWorkerStage } from './pipeline-worker-stage.ts';
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
  let pipeline: PipelineWorkerStage | undefined;
  const sqlite = openSqliteAdapters(options, options.pipelineThread ? 'api' : 'all', { onCommitted: () => pipeline?.appended() });
  const cache = new MemoryCountCache({ maxEntries: options.cacheEntries });
  const notifier = new MemoryCountNotifier();
  const extraStages = new Map<string, (context: StageContext) => PipelineWorkerStage>();
  if (options.pipelineThread) {
    extraStages.set('pipeline', ({ metrics, log: logger }) => (pipeline = new PipelineWorkerStage({ options, tracker, cache, notifier, metrics, log: logger })));
  }
  return {
    mode: 'embedded',
    log: sqlite.events,
    likes: sqlite.likes,
    feed: sqlite.feed,
    counters: sqlite.counters,
    cache,
    notifier,
    progress: tracker,
    tracker,
    extraStages,
    async init() {
      await sqlite.init();
      await cache.init();
      await notifier.init();
    },
    async close() {
      tracker.close();
      await notifier.close();
      await cache.close();
      await sqlite.close();
    },
    describe: () => `embedded database ${sqlite.storeDb.path} (log ${sqlite.logDb.path})${options.pipelineThread ? ', pipeline in a worker thread' : ''}`,
  };
}
