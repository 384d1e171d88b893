import { setImmediate as yieldToOthers } from 'node:timers/promises';
import type { StreamPosition } from '../../domain/change.ts';
import type { EventLog, LogBatch, LogConsumer } from '../../ports/event-log.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { AppliedPositions } from '../applied-positions.ts';
import type { LoopStep } from '../loop-stage.ts';
import type { ProgressSink } from '../../ports/progress-sink.ts';

export interface IngestOptions {
  readonly group: string;
  readonly maxEvents: number;
  readonly maxWaitMs: number;
  readonly idleMs: number;
  /** Most rows an erasure step scans and deletes in one store transaction (1,000 by default). */
  readonly eraseBatch?: number;
}

/**
 * The seed's "Tweets Event Consumer": reads like events in batches and applies them to the likes
 * store together with the log positions they end at (one transaction, fenced on where the batch
 * starts), then commits the positions to the log's group as a hint. The store's positions are the
 * authority: a restarted or newly assigned ingest resumes from them, and a stale one (its
 * partitions moved to another process by a rebalance) is refused instead of undoing newer events.
 */
export class IngestStep implements LoopStep {
  readonly #log: EventLog;
  readonly #store: LikesStore;
  readonly #options: IngestOptions;
  readonly #metrics: Metrics;
  readonly #progress: ProgressSink | undefined;
  #consumer: LogConsumer | undefined;
  /** The log positions the likes store holds, per partition: where the next batch must start. */
  readonly #applied = new AppliedPositions();

  constructor(deps: { log: EventLog; store: LikesStore; metrics: Metrics; progress?: ProgressSink }, options: IngestOptions) {
    this.#log = deps.log;
    this.#store = deps.store;
    this.#metrics = deps.metrics;
    this.#progress = deps.progress;
    this.#options = options;
  }

  async open(): Promise<void> {
    this.#consumer = await this.#log.consumer({
      group: this.#options.group,
      maxEvents: this.#options.maxEvents,
      maxWaitMs: this.#options.maxWaitMs,
      // On every assignment: start where the store says, and fence batches from there.
      resumeFrom: async () => {
        const stored = await this.#store.logPositions();
        this.#applied.refresh(stored);
        return stored;
      },
    });
  }

  async step(): Promise<boolean> {
    const consumer = this.#consumer;
    if (consumer === undefined) throw new Error('ingest: consumer not open');
    const batch = await consumer.poll(this.#options.idleMs);
    if (batch.positions.length === 0) return false;
    const marker = batch.marker;
    // Before a marker, its partition is applied up to the marker only: the marker's position is
    // stored once its part of the erasure is complete (eraseStep), so a crash redoes the marker.
    const to = marker === undefined ? batch.positions : batch.positions.map((p) => (p.partition === marker.partition ? { partition: p.partition, offset: marker.offset } : p));
    const result = await this.#store.apply(batch.events, { from: this.#applied.from(to), to });
    this.#applied.advance(to);
    this.#metrics.eventsIngested.inc(batch.events.length);
    this.#metrics.rowsChanged.inc(result.changed);
    this.#metrics.batchSize.observe({ stage: 'ingest' }, batch.events.length);
    let feedPositions = result.feedPositions;
    if (marker !== undefined) {
      this.#progress?.ingested(to, feedPositions);
      feedPositions = (await this.#erase(marker)) ?? feedPositions;
    }
    await consumer.commit(batch);
    this.#progress?.ingested(batch.positions, feedPositions);
    return true;
  }

  /** Runs the marker's part of its erasure to completion, in bounded store transactions. */
  async #erase(marker: NonNullable<LogBatch['marker']>): Promise<readonly StreamPosition[] | undefined> {
    const place = { partition: marker.partition, offset: marker.offset, partitions: this.#log.partitions };
    for (;;) {
      const step = await this.#store.eraseStep(marker.event, place, this.#options.eraseBatch ?? 1000);
      this.#metrics.rowsChanged.inc(step.removed);
      if (step.done) {
        this.#applied.advance([{ partition: marker.partition, offset: marker.offset + 1 }]);
        return step.feedPositions;
      }
      // Let the counter (in this thread, embedded) count the removals as they are made.
      await yieldToOthers();
    }
  }

  async close(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.close();
  }
}
