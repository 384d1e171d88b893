import { parentPort, workerData } from 'node:worker_threads';
import { SqliteChangeFeed } from '../adapters/sqlite/sqlite-change-feed.ts';
import { SqliteCounterStore } from '../adapters/sqlite/sqlite-counter-store.ts';
import { SqliteDatabase } from '../adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../adapters/sqlite/sqlite-likes-store.ts';
import type { Options } from '../config/options.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import type { CountCache } from '../ports/count-cache.ts';
import type { ProgressSink } from '../stages/progress/progress-sink.ts';
import { pipelineStages } from './pipeline-stages.ts';
import type { FromPipeline, ToPipeline } from './pipeline-worker-protocol.ts';

/**
 * The embedded pipeline in a worker thread: ingest, counter and reconcile on their own SQLite
 * connections, so the api thread keeps a core for HTTP. Counts, progress, readiness and metrics go
 * back to the api thread as messages; the api thread tells it when the log got new records.
 */
const port = parentPort;
if (port === null) throw new Error('pipeline-worker.ts runs as a worker thread');
const post = (message: FromPipeline): void => port.postMessage(message);
const { options } = workerData as { options: Options };
const log = createLogger(options.logLevel, 'tally-pipeline');
const metrics = new Metrics({ defaultMetrics: false });

const logDb = new SqliteDatabase(options.dataDir, { file: 'log.db', checkpointer: false });
const storeDb = new SqliteDatabase(options.dataDir, { file: 'tally.db' });
const eventLog = new SqliteEventLog(logDb, { partitions: options.partitions, maxPendingEvents: options.maxPendingEvents });
const likes = new SqliteLikesStore(storeDb, { shards: options.likesShards });
const feed = new SqliteChangeFeed(storeDb);
const counters = new SqliteCounterStore(storeDb);
const cache: CountCache = {
  init: async () => undefined,
  close: async () => undefined,
  getMany: async () => new Map(),
  setMany: async (counts) => post({ t: 'counts', counts }),
};
const progress: ProgressSink = {
  ingested: (logPositions, feedPositions) => post({ t: 'ingested', log: logPositions, feed: feedPositions }),
  counted: (feedPositions) => post({ t: 'counted', feed: feedPositions }),
};
const stages = pipelineStages({ log: eventLog, likes, feed, counters, cache }, new Set(['ingest', 'counter', 'reconcile']), options, log, metrics, progress);

const report = async (): Promise<void> => {
  post({ t: 'status', notRunning: stages.filter((s) => !s.running).map((s) => s.name), metrics: JSON.stringify(await metrics.registry.getMetricsAsJSON()) });
};
let timer: NodeJS.Timeout | undefined;

async function start(): Promise<void> {
  for (const adapter of [eventLog, likes, feed, counters]) await adapter.init();
  for (const stage of stages) await stage.start();
  await report();
  timer = setInterval(() => void report(), 250);
  post({ t: 'ready' });
}

async function stop(): Promise<void> {
  clearInterval(timer);
  for (const stage of [...stages].reverse()) await stage.stop();
  await report();
  for (const adapter of [counters, feed, likes, eventLog]) await adapter.close();
  storeDb.close();
  logDb.close();
  post({ t: 'stopped' });
}

port.on('message', (message: ToPipeline) => {
  if (message.t === 'appended') logDb.notify('log_records');
  else if (message.t === 'stop') void stop().catch((error: unknown) => post({ t: 'failed', message: String(error) }));
});
start().catch((error: unknown) => post({ t: 'failed', message: error instanceof Error ? error.message : String(error) }));
