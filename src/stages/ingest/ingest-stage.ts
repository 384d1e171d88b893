import type { EventLog, LogConsumer } from '../../ports/event-log.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { LoopStep } from '../loop-stage.ts';
import type { InProcessProgress } from '../progress/in-process-progress.ts';

export interface IngestOptions {
  readonly group: string;
  readonly maxEvents: number;
  readonly maxWaitMs: number;
  readonly idleMs: number;
}

/**
 * The seed's "Tweets Event Consumer": reads like events in batches and applies them to the likes
 * store, then commits the log position. A crash between the two replays the batch, which is
 * harmless: the replayed suffix is re-applied in log order, so each pair ends in its last state.
 */
export class IngestStep implements LoopStep {
  readonly #log: EventLog;
  readonly #store: LikesStore;
  readonly #options: IngestOptions;
  readonly #metrics: Metrics;
  readonly #progress: InProcessProgress | undefined;
  #consumer: LogConsumer | undefined;

  constructor(deps: { log: EventLog; store: LikesStore; metrics: Metrics; progress?: InProcessProgress }, options: IngestOptions) {
    this.#log = deps.log;
    this.#store = deps.store;
    this.#metrics = deps.metrics;
    this.#progress = deps.progress;
    this.#options = options;
  }

  async open(): Promise<void> {
    this.#consumer = await this.#log.consumer({ group: this.#options.group, maxEvents: this.#options.maxEvents, maxWaitMs: this.#options.maxWaitMs });
  }

  async step(): Promise<boolean> {
    const consumer = this.#consumer;
    if (consumer === undefined) throw new Error('ingest: consumer not open');
    const batch = await consumer.poll(this.#options.idleMs);
    if (batch.positions.length === 0) return false;
    const result = batch.events.length === 0 ? { changed: 0, feedPositions: undefined } : await this.#store.apply(batch.events);
    await consumer.commit(batch);
    this.#metrics.eventsIngested.inc(batch.events.length);
    this.#metrics.rowsChanged.inc(result.changed);
    this.#metrics.batchSize.observe({ stage: 'ingest' }, batch.events.length);
    this.#progress?.ingested(batch.positions, result.feedPositions);
    return true;
  }

  async close(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.close();
  }
}
