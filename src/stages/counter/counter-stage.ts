import { aggregateChanges } from '../../domain/aggregate.ts';
import type { Change, StreamPosition } from '../../domain/change.ts';
import { isTallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ChangeFeed, ChangeReader } from '../../ports/change-feed.ts';
import type { CountCache } from '../../ports/count-cache.ts';
import type { CounterStore, VersionedCount } from '../../ports/counter-store.ts';
import { AppliedPositions } from '../applied-positions.ts';
import type { LoopStep } from '../loop-stage.ts';
import type { ProgressSink } from '../../ports/progress-sink.ts';
import { findDrift } from './drift.ts';

export interface CounterOptions {
  readonly group: string;
  readonly maxChanges: number;
  readonly maxWaitMs: number;
  readonly idleMs: number;
}

/**
 * The seed's "DB Change Streamer": reads the change feed in batches, folds them into one
 * update per post, and applies the updates together with the new feed positions in one
 * counter-store transaction. Changes before the stored positions are skipped, so redelivery
 * never counts twice. Fresh counts are then written through to the cache.
 */
export class CounterStep implements LoopStep {
  readonly #feed: ChangeFeed;
  readonly #store: CounterStore;
  readonly #cache: CountCache;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #progress: ProgressSink | undefined;
  readonly #options: CounterOptions;
  #reader: ChangeReader | undefined;
  readonly #applied = new AppliedPositions();
  /** Committed counts the cache has not taken yet (its write failed), newest per post. */
  readonly #uncached = new Map<string, VersionedCount>();
  /**
   * Per partition, the applied offset the feed was rewound from on the last assignment: changes
   * below it are re-read only to rewrite their posts' counts to the cache (see `#resumeFrom`).
   */
  readonly #replayUntil = new Map<number, number>();

  constructor(
    deps: { feed: ChangeFeed; store: CounterStore; cache: CountCache; metrics: Metrics; log: Logger; progress?: ProgressSink },
    options: CounterOptions,
  ) {
    this.#feed = deps.feed;
    this.#store = deps.store;
    this.#cache = deps.cache;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
    this.#progress = deps.progress;
    this.#options = options;
  }

  async open(): Promise<void> {
    const positions = await this.#store.positions();
    this.#applied.refresh(positions);
    this.#reader = await this.#feed.reader({
      group: this.#options.group,
      maxChanges: this.#options.maxChanges,
      maxWaitMs: this.#options.maxWaitMs,
      resumeFrom: () => this.#resumeFrom(),
    });
    this.#progress?.counted(positions);
  }

  /**
   * Called whenever the feed assigns partitions: a partition that comes from another counter is
   * fenced from where that one left it, not from what this process read at open. The feed is
   * started up to two batches before that point: a counter killed after its store commit but
   * before its cache write left those counts only in its memory, so the changes just before the
   * stored positions are re-read, not counted again, and their posts' counts are read from the
   * store and written to the cache (set-if-newer, so a count already there is not set back).
   */
  async #resumeFrom(): Promise<StreamPosition[]> {
    const stored = await this.#store.positions();
    this.#applied.refresh(stored);
    const rewind = 2 * this.#options.maxChanges;
    this.#replayUntil.clear();
    for (const p of stored) if (p.offset > 0) this.#replayUntil.set(p.partition, p.offset);
    return stored.map((p) => ({ partition: p.partition, offset: Math.max(0, p.offset - rewind) }));
  }

  async step(): Promise<boolean> {
    const reader = this.#reader;
    if (reader === undefined) throw new Error('counter: change reader not open');
    const batch = await reader.poll(this.#options.idleMs);
    if (batch.positions.length === 0) {
      await this.#writeCache([]);
      return false;
    }

    const fresh: Change[] = [];
    const replayed = new Set<string>();
    for (const { change, partition, offset } of batch.changes) {
      if (offset >= this.#applied.offset(partition)) fresh.push(change);
      else if (offset < (this.#replayUntil.get(partition) ?? 0)) replayed.add(change.postId);
      else this.#metrics.duplicatesSkipped.inc();
    }
    if (replayed.size > 0) await this.#writeCache([...(await this.#store.getMany([...replayed])).values()]);
    const to = batch.positions.filter((p) => p.offset > this.#applied.offset(p.partition));
    if (to.length === 0) return true;
    const from = this.#applied.from(to);
    const updates = aggregateChanges(fresh);
    const drift = await findDrift(fresh, this.#store);

    let counts;
    try {
      counts = await this.#store.apply({ updates, from, to });
    } catch (error) {
      if (isTallyError(error) && error.code === 'position_conflict') {
        this.#log.info({ err: error }, 'counter: another counter moved the positions; resuming from the store');
      }
      throw error;
    }
    this.#applied.advance(to);
    for (const repair of drift) {
      this.#metrics.driftRepaired.inc();
      this.#log.warn(repair, 'counter: recount repaired a drifted counter');
    }
    this.#metrics.changesApplied.inc(fresh.length);
    this.#metrics.batchSize.observe({ stage: 'counter' }, fresh.length);
    await this.#writeCache(counts);
    await reader.release(to);
    this.#progress?.counted(to);
    return true;
  }

  /**
   * Writes committed counts to the cache, with those it failed to take before. The store's
   * positions have moved past their changes, so a retried batch would never write them again: a
   * failed write keeps them here (newest per post) and rethrows; the next batch, or the next idle
   * poll, writes them. Set-if-newer makes a late write harmless.
   */
  async #writeCache(counts: readonly VersionedCount[]): Promise<void> {
    if (this.#uncached.size === 0) {
      if (counts.length === 0) return;
      try {
        await this.#cache.setMany(counts);
        return;
      } catch (error) {
        for (const c of counts) this.#uncached.set(c.postId, c);
        throw error;
      }
    }
    for (const c of counts) this.#uncached.set(c.postId, c);
    await this.#cache.setMany([...this.#uncached.values()]);
    this.#uncached.clear();
  }

  async close(): Promise<void> {
    await this.#writeCache([]).catch(() => undefined);
    const reader = this.#reader;
    this.#reader = undefined;
    await reader?.close();
  }
}
