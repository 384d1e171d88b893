import { TallyError } from '../../domain/errors.ts';
import { markerPartitions, type ErasureMarker } from '../../domain/erasure.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { EventLog } from '../../ports/event-log.ts';
import type { PipelineProgress } from '../../ports/pipeline-progress.ts';

export interface LikeWriterOptions {
  readonly maxIngestLag: number;
  readonly waitAppliedMs: number;
}

/** The write side of the api: back-pressure, durable append, optional wait for the counts. */
export class LikeWriter {
  readonly #log: EventLog;
  readonly #progress: PipelineProgress;
  readonly #metrics: Metrics;
  readonly #options: LikeWriterOptions;
  readonly #onAppended: ((positions: Parameters<PipelineProgress['waitApplied']>[0]) => void) | undefined;
  readonly #onApplied: ((events: readonly LikeEvent[]) => void) | undefined;
  readonly #onAccepted: ((events: readonly LikeEvent[]) => void) | undefined;
  readonly #onErased: ((posts: readonly string[] | 'all') => void) | undefined;

  constructor(
    deps: {
      log: EventLog;
      progress: PipelineProgress;
      metrics: Metrics;
      onAppended?: (positions: Parameters<PipelineProgress['waitApplied']>[0]) => void;
      /** Called once `?wait=applied` events are counted, before the answer (the read path's read-your-writes). */
      onApplied?: (events: readonly LikeEvent[]) => void;
      /** Told of every event once durable (the live side's freshness). */
      onAccepted?: (events: readonly LikeEvent[]) => void;
      /** Called once a `?wait=applied` erasure is counted: the posts it changed, or `all` (a user's). */
      onErased?: (posts: readonly string[] | 'all') => void;
    },
    options: LikeWriterOptions,
  ) {
    this.#log = deps.log;
    this.#progress = deps.progress;
    this.#metrics = deps.metrics;
    this.#onAppended = deps.onAppended;
    this.#onApplied = deps.onApplied;
    this.#onAccepted = deps.onAccepted;
    this.#onErased = deps.onErased;
    this.#options = options;
  }

  /** The log's sub-shards S (erasure markers carry it). */
  get hotShards(): number {
    return this.#log.hotShards;
  }

  /** Resolves once the events are durable (and, with `waitApplied`, counted); throws TallyError otherwise. */
  async write(events: readonly LikeEvent[], waitApplied: boolean): Promise<{ accepted: number; applied?: boolean }> {
    this.#checkLag();
    let result;
    try {
      result = await this.#log.append(events);
    } catch (error) {
      if (error instanceof TallyError && error.code === 'overloaded') this.#metrics.overloaded.inc();
      throw error;
    }
    this.#metrics.eventsAccepted.inc(events.length);
    this.#onAppended?.(result.positions);
    this.#onAccepted?.(events);
    if (!waitApplied) return { accepted: events.length };
    await this.#waitApplied(result.positions, 'the write is durable in the log but was not counted within');
    this.#onApplied?.(events);
    return { accepted: events.length, applied: true };
  }

  /**
   * Appends an erasure marker (after `accepted` recorded it, so its status reads `pending` at
   * once); with `waitApplied`, resolves once every partition's part is done and counted.
   */
  async erase(marker: ErasureMarker, waitApplied: boolean, accepted: (partitionsTotal: number) => Promise<void>): Promise<{ accepted: number; applied?: boolean }> {
    this.#checkLag();
    await accepted(markerPartitions(marker, this.#log.partitions).length);
    const result = await this.#log.appendErasure(marker);
    this.#onAppended?.(result.positions);
    if (!waitApplied) return { accepted: 1 };
    await this.#waitApplied(result.positions, 'the erasure is durable in the log but was not complete and counted within');
    this.#onErased?.(marker.op === 'erase-post' ? [marker.target] : 'all');
    return { accepted: 1, applied: true };
  }

  #checkLag(): void {
    const lag = this.#progress.ingestLag();
    this.#metrics.ingestLag.set(lag);
    if (lag > this.#options.maxIngestLag) {
      this.#metrics.overloaded.inc();
      throw new TallyError('ingest_lagging', `ingest is ${lag} events behind the log (limit ${this.#options.maxIngestLag}); retry after a short pause`, { retriable: true });
    }
  }

  async #waitApplied(positions: Parameters<PipelineProgress['waitApplied']>[0], what: string): Promise<void> {
    const applied = await this.#progress.waitApplied(positions, this.#options.waitAppliedMs);
    if (!applied) {
      throw new TallyError('apply_timeout', `${what} ${this.#options.waitAppliedMs} ms; it will be, retrying is safe (writes are idempotent)`, { retriable: true });
    }
  }
}
