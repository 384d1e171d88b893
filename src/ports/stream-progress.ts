import type { StreamPosition } from '../domain/change.ts';
import type { Lifecycle } from './lifecycle.ts';

/**
 * Where the log and the change feed stand (Kafka in distributed mode): their end positions, and
 * the positions a stage's consumer group committed on the log. Read-only; for `?wait=applied`
 * and the lag metrics when the stages run in other processes.
 */
export interface StreamProgress extends Lifecycle {
  /** The next position to be written in each partition of the like-events log. */
  logEnds(): Promise<StreamPosition[]>;
  /** The next position to be written in each partition of the change feed. */
  feedEnds(): Promise<StreamPosition[]>;
  /** The log positions a stage's consumer group (`ingest`...) has committed; absent partitions have none. */
  committed(group: string): Promise<StreamPosition[]>;
}
