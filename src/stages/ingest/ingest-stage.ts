import type { StreamPosition } from '../../domain/change.ts';
import { rowInPartition, type ErasureMarker } from '../../domain/erasure.ts';
import { logPartitionOf } from '../../domain/log-key.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import type { EventLog, LogConsumer } from '../../ports/event-log.ts';
import type { MarkerPlace } from '../../ports/likes-store.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { AppliedPositions } from '../applied-positions.ts';
import type { LoopStep } from '../loop-stage.ts';
import type { ProgressSink } from '../../ports/progress-sink.ts';

/** An erasure marker being carried out: what it erases, and where it sits. */
interface Erasing {
  readonly marker: ErasureMarker;
  readonly place: MarkerPlace;
  /**
   * The target's events after the marker in its partition (every event of the partition for a
   * store whose `offsetsFromFence`), in order: applied once the part is complete.
   */
  readonly held: LikeEvent[];
  /** Where the partition has been read (and, but for `held`, applied) up to. */
  readUpTo: number;
}

/** Held-back events beyond which ingest finishes the erasure before reading on. */
const MAX_HELD = 100_000;

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
  /** The erasures whose parts this ingest is carrying out between batches, by log partition. */
  readonly #erasing = new Map<number, Erasing>();

  constructor(deps: { log: EventLog; store: LikesStore; metrics: Metrics; progress?: ProgressSink }, options: IngestOptions) {
    this.#log = deps.log;
    this.#store = deps.store;
    this.#metrics = deps.metrics;
    this.#progress = deps.progress;
    this.#options = options;
  }

  async open(): Promise<void> {
    // A reopened consumer reads from the store's positions: an unfinished erasure's marker again.
    this.#erasing.clear();
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
    // While erasures are under way, one erase step of each, then one batch: the other traffic flows.
    for (const erasing of [...this.#erasing.values()]) await this.#eraseOnce(consumer, erasing);
    const busy = this.#erasing.size > 0;
    const batch = await consumer.poll(busy ? Math.min(this.#options.idleMs, 5) : this.#options.idleMs);
    if (batch.positions.length === 0) return busy;
    const marker = batch.marker;
    // Before a marker, its partition is applied up to the marker only: the marker's position is
    // stored once its part of the erasure is complete (eraseStep), so a crash redoes the marker.
    let to = marker === undefined ? batch.positions : batch.positions.map((p) => (p.partition === marker.partition ? { partition: p.partition, offset: marker.offset } : p));
    let events = batch.events;
    for (const erasing of this.#erasing.values()) ({ to, events } = this.#holdBack(erasing, to, events));
    const result = await this.#store.apply(events, { from: this.#applied.from(to), to });
    this.#applied.advance(to);
    this.#metrics.eventsIngested.inc(batch.events.length);
    this.#metrics.rowsChanged.inc(result.changed);
    this.#metrics.batchSize.observe({ stage: 'ingest' }, batch.events.length);
    await consumer.commit({ events: [], positions: to });
    this.#progress?.ingested(to, result.feedPositions);
    for (const erasing of [...this.#erasing.values()]) if (erasing.held.length > MAX_HELD) await this.#finish(consumer, erasing);
    if (marker !== undefined) {
      // One erasure per partition at a time: an earlier one in this partition finishes first.
      const earlier = this.#erasing.get(marker.partition);
      if (earlier !== undefined) await this.#finish(consumer, earlier);
      this.#erasing.set(marker.partition, {
        marker: marker.event,
        place: { partition: marker.partition, offset: marker.offset, partitions: this.#log.partitions },
        held: [],
        readUpTo: marker.offset + 1,
      });
    }
    return true;
  }

  /**
   * The events of a batch read while `erasing` is under way: those of the erasure's target in its
   * partition wait for the part to complete (they came after the marker: they must outlive it);
   * every other event is applied now. The partition's stored position stays at the marker until
   * the part is complete, so a crash replays from it: the erasure resumes at its cursor, and the
   * events after the marker are applied again, which changes no row that is already right (a like
   * of a present row, an unlike of an absent one) and so counts nothing twice. A store that numbers
   * events by their offsets (`offsetsFromFence`) gets none of the partition's events until the
   * part is complete: then they are the whole run after the marker.
   */
  #holdBack(erasing: Erasing, to: readonly StreamPosition[], events: readonly LikeEvent[]): { to: StreamPosition[]; events: LikeEvent[] } {
    const { marker, place } = erasing;
    const read = to.find((p) => p.partition === place.partition);
    if (read === undefined) return { to: [...to], events: [...events] };
    erasing.readUpTo = read.offset;
    const now: LikeEvent[] = [];
    const whole = this.#store.offsetsFromFence === true;
    for (const event of events) {
      if (whole) {
        if (logPartitionOf(event.postId, event.userId, marker.shards, place.partitions) === place.partition) erasing.held.push(event);
        else now.push(event);
        continue;
      }
      const target = marker.op === 'erase-user' ? event.userId === marker.target : event.postId === marker.target;
      if (target && rowInPartition(marker, event.postId, event.userId, place.partition, place.partitions)) erasing.held.push(event);
      else now.push(event);
    }
    return { to: to.map((p) => (p.partition === place.partition ? { partition: p.partition, offset: place.offset } : p)), events: now };
  }

  /** Runs an erasure to completion. */
  async #finish(consumer: LogConsumer, erasing: Erasing): Promise<void> {
    while (this.#erasing.get(erasing.place.partition) === erasing) await this.#eraseOnce(consumer, erasing);
  }

  /**
   * One bounded store transaction of the erasure in hand. Once its part is done (the store then
   * holds the position past the marker), the held-back events are applied and the partition's
   * position moves to where it was read up to.
   */
  async #eraseOnce(consumer: LogConsumer, erasing: Erasing): Promise<void> {
    const { partition, offset } = erasing.place;
    const step = await this.#store.eraseStep(erasing.marker, erasing.place, this.#options.eraseBatch ?? 1000);
    this.#metrics.rowsChanged.inc(step.removed);
    if (!step.done) return;
    this.#applied.advance([{ partition, offset: offset + 1 }]);
    let feedPositions = step.feedPositions;
    const upTo = [{ partition, offset: erasing.readUpTo }];
    if (erasing.readUpTo > offset + 1 || erasing.held.length > 0) {
      const result = await this.#store.apply(erasing.held, { from: [{ partition, offset: offset + 1 }], to: upTo });
      this.#applied.advance(upTo);
      this.#metrics.rowsChanged.inc(result.changed);
      feedPositions = result.feedPositions ?? feedPositions;
    }
    this.#erasing.delete(partition);
    await consumer.commit({ events: [], positions: upTo });
    this.#progress?.ingested(upTo, feedPositions);
  }

  async close(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.close();
  }
}
