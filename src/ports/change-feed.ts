import type { PositionedChange, StreamPosition } from '../domain/change.ts';
import type { Lifecycle } from './lifecycle.ts';

export interface ChangeBatch {
  /** In feed order within each partition. */
  readonly changes: readonly PositionedChange[];
  /** For each partition in the batch: the position after its last change. */
  readonly positions: readonly StreamPosition[];
}

export interface ChangeReaderOptions {
  /** Consumer group of the counter stage. */
  readonly group: string;
  readonly maxChanges: number;
  readonly maxWaitMs: number;
  /**
   * Where to resume, per partition: the positions the counter store says were applied. The
   * counter store, not the feed, is the authority; the feed's own offsets are only a hint.
   */
  readonly resumeFrom: () => Promise<readonly StreamPosition[]>;
}

export interface ChangeReader {
  /** Resolves with the next batch, or an empty batch when nothing arrived within `idleMs`. */
  poll(idleMs: number): Promise<ChangeBatch>;
  /** Tells the feed that everything before these positions is applied (it may prune or commit). */
  release(positions: readonly StreamPosition[]): Promise<void>;
  close(): Promise<void>;
}

/** The rows that really changed in the likes store, in commit order, with positions. */
export interface ChangeFeed extends Lifecycle {
  reader(options: ChangeReaderOptions): Promise<ChangeReader>;
}
