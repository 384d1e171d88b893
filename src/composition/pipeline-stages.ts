import type { Options } from '../config/options.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ChangeFeed } from '../ports/change-feed.ts';
import type { CountCache } from '../ports/count-cache.ts';
import type { CountNotifier } from '../ports/count-notifier.ts';
import type { CounterStore } from '../ports/counter-store.ts';
import type { EventLog } from '../ports/event-log.ts';
import type { LikesStore } from '../ports/likes-store.ts';
import { CounterStep } from '../stages/counter/counter-stage.ts';
import { IngestStep } from '../stages/ingest/ingest-stage.ts';
import { LoopStage } from '../stages/loop-stage.ts';
import type { ProgressSink } from '../ports/progress-sink.ts';
import { ScheduledReconcile } from '../stages/reconcile/reconcile.ts';
import { notifyingCache } from '../stages/stream/notifying-cache.ts';
import type { Stage } from '../stages/stage.ts';

export interface PipelinePorts {
  readonly events: EventLog;
  readonly likes: LikesStore;
  readonly feed: ChangeFeed;
  readonly counters: CounterStore;
  readonly cache: CountCache;
  /** When present, the counter publishes the counts it writes on it. */
  readonly notifier?: CountNotifier;
}

export type PipelineStageName = 'ingest' | 'counter' | 'reconcile';

/** The ingest, counter and reconcile stages over their ports, wherever they run (a process, a worker thread). */
export function pipelineStages(
  ports: PipelinePorts,
  names: ReadonlySet<string>,
  options: Options,
  log: Logger,
  metrics: Metrics,
  progress: ProgressSink | undefined,
): Stage[] {
  const stages: Stage[] = [];
  const sink = progress === undefined ? {} : { progress };
  if (names.has('ingest')) {
    const step = new IngestStep(
      { log: ports.events, store: ports.likes, metrics, ...sink },
      { group: 'ingest', maxEvents: options.ingestBatch, maxWaitMs: options.batchWaitMs, idleMs: options.idleMs, eraseBatch: options.eraseBatch },
    );
    stages.push(new LoopStage('ingest', step, log, metrics));
  }
  if (names.has('counter')) {
    const step = new CounterStep(
      { feed: ports.feed, store: ports.counters, cache: ports.notifier ? notifyingCache(ports.cache, ports.notifier) : ports.cache, metrics, log, ...sink },
      { group: 'counter', maxChanges: options.counterBatch, maxWaitMs: options.batchWaitMs, idleMs: options.idleMs },
    );
    stages.push(new LoopStage('counter', step, log, metrics));
  }
  if (names.has('reconcile')) stages.push(new ScheduledReconcile(ports.likes, options.reconcileIntervalMs, log, metrics));
  return stages;
}
