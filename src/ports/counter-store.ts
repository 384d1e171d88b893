import type { CounterUpdate } from '../domain/aggregate.ts';
import type { StreamPosition } from '../domain/change.ts';
import type { Lifecycle } from './lifecycle.ts';

/** A post's count with a version that grows on every write, so caches can refuse stale values. */
export interface VersionedCount {
  readonly postId: string;
  readonly count: number;
  readonly version: number;
}

export interface CounterBatch {
  readonly updates: ReadonlyMap<string, CounterUpdate>;
  /** The applied positions this batch starts from; a store holding others rejects the batch. */
  readonly from: readonly StreamPosition[];
  /** The applied positions after this batch, stored in the same transaction as the counts. */
  readonly to: readonly StreamPosition[];
}

/**
 * post → count, plus the change-feed positions applied. Counts and positions change in one
 * transaction, so a replayed change is never applied twice (invariant 2).
 */
export interface CounterStore extends Lifecycle {
  /**
   * Applies a batch atomically and returns the new counts. Throws a `position_conflict`
   * TallyError when the stored positions differ from `from` (another counter moved them).
   */
  apply(batch: CounterBatch): Promise<VersionedCount[]>;
  /** The applied change-feed positions, one per partition ever applied. */
  positions(): Promise<StreamPosition[]>;
  /** Counts of the given posts; a post never liked is absent. */
  getMany(postIds: readonly string[]): Promise<Map<string, VersionedCount>>;
}
