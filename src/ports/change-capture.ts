import type { Change } from '../domain/change.ts';
import type { Lifecycle } from './lifecycle.ts';

/** Changes read from a database's own change stream (PostgreSQL logical replication), in commit order. */
export interface CapturedBatch {
  readonly changes: readonly Change[];
  /**
   * A comparable source position per change (same index as `changes`): fixed-width strings that
   * sort in commit order, e.g. LSN and index within the transaction as hex, at least among the
   * changes of one feed partition (a post never leaves its partition). A change delivered again
   * keeps its source. A relay uses them to skip what it already published after a restart.
   */
  readonly sources: readonly string[];
  /** Confirms everything in this batch as handled: the source may then forget it. */
  ack(): Promise<void>;
}

/** The database side of CDC: the rows that really changed, read from the database's log. */
export interface ChangeCapture extends Lifecycle {
  /** The next batch, or an empty one (still with an `ack`) when nothing arrived within `idleMs`. */
  poll(maxChanges: number, idleMs: number): Promise<CapturedBatch>;
}
