import { parentPort, workerData } from 'node:worker_threads';
import type { Options } from '../config/options.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import type { CountCache } from '../ports/count-cache.ts';
import type { ProgressSink } from '../ports/progress-sink.ts';
import { pipelineStages } from './pipeline-stages.ts';
import type { FromPipeline, ToPipeline } from '../stages/pipeline/pipeline-worker-protocol.ts';
import { openSqliteAdapters } from './sqlite-adapters.ts';

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
const metrics = new Metrics({ defaultMetrics: false, thread: 'pipeline' });

const sqlite = openSqliteAdapters(options, 'pipeline');
const cache: CountCache = {
  init: async () => undefined,
  close: async () => undefined,
  getMany: async (postIds) => postIds.map(() => undefined),
  setMany: async (counts) => post({ t: 'counts', counts }),
};
const progress: ProgressSink = {
  ingested: (logPositions, feedPositions) => post({ t: 'ingested', log: logPositions, feed: feedPositions }),
  counted: (feedPositions) => post({ t: 'counted', feed: feedPositions }),
};
const stages = pipelineStages({ events: sqlite.events, likes: sqlite.likes, feed: sqlite.feed, counters: sqlite.counters, cache }, new Set(['ingest', 'counter', 'reconcile']), options, log, metrics, progress);

const report = async (): Promise<void> => {
  post({ t: 'status', notRunning: stages.filter((s) => !s.running).map((s) => s.name), metrics: JSON.stringify(await metrics.registry.getMetricsAsJSON()) });
};
let timer: NodeJS.Timeout | undefined;

async function start(): Promise<void> {
  await sqlite.init();
  for (const stage of stages) await stage.start();
  await report();
  timer = setInterval(() => void report(), 250);
  post({ t: 'ready' });
}

async function stop(): Promise<void> {
  clearInterval(timer);
  for (const stage of [...stages].reverse()) await stage.stop();
  await report();
  await sqlite.close();
  post({ t: 'stopped' });
}

port.on('message', (message: ToPipeline) => {
  if (message.t === 'appended') sqlite.logDb.notify('log_records');
  else if (message.t === 'stop') void stop().catch((error: unknown) => post({ t: 'failed', message: String(error) }));
});
start().catch((error: unknown) => post({ t: 'failed', message: error instanceof Error ? error.message : String(error) }));
