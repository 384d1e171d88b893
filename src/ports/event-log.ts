import type { StreamPosition } from '../domain/change.ts';
import type { ErasureMarker } from '../domain/erasure.ts';
import type { LikeEvent } from '../domain/like-event.ts';
import type { Lifecycle } from './lifecycle.ts';

/** What an append made durable: for each partition it wrote to, the position just after its events. */
export interface AppendResult {
  readonly positions: readonly StreamPosition[];
}

/** A batch of events read by a consumer, in log order within each partition. */
export interface LogBatch {
  readonly events: readonly LikeEvent[];
  /** For each partition in the batch: the position after its last event (what `commit` stores). */
  readonly positions: readonly StreamPosition[];
  /**
   * An erasure marker that ends the batch: it comes after every event of `events` in read order,
   * sits at `offset` in `partition`, and `positions` include it (its partition's position is
   * `offset + 1`). A batch holds at most one marker, always last.
   */
  readonly marker?: { readonly event: ErasureMarker; readonly partition: number; readonly offset: number };
}

export interface ConsumerOptions {
  /** Consumer group: members share the partitions, and positions are kept per group. */
  readonly group: string;
  /** Upper bound of events in one batch. */
  readonly maxEvents: number;
  /** How long `poll` waits for a batch to fill once it has at least one event. */
  readonly maxWaitMs: number;
  /**
   * Where to start each partition this member is given (called again on every assignment); the
   * group's committed offsets when absent. Ingest passes the likes store's positions: the store,
   * not the log, is the authority on what was applied.
   */
  readonly resumeFrom?: () => Promise<readonly StreamPosition[]>;
}

/** One member of a consumer group. */
export interface LogConsumer {
  /** Resolves with the next batch, or with an empty batch when nothing arrived within `idleMs`. */
  poll(idleMs: number): Promise<LogBatch>;
  /** Stores the batch's positions for the group; call only after the batch is durably applied. */
  commit(batch: LogBatch): Promise<void>;
  close(): Promise<void>;
}

/**
 * The like-events log: durable, ordered per partition, partitioned by post id. `append`
 * resolves only once the events are durable, which is what a 2xx promises (invariant 4).
 */
export interface EventLog extends Lifecycle {
  readonly partitions: number;
  /** The sub-shards S of a post's log key (docs/architecture.md, "Hot keys"); 1 when the log keys by post alone. */
  readonly hotShards: number;
  append(events: readonly LikeEvent[]): Promise<AppendResult>;
  /**
   * Appends the marker to every partition of `markerPartitions(marker, partitions)`, in one
   * durable write; resolves with the position after the marker in each.
   */
  appendErasure(marker: ErasureMarker): Promise<AppendResult>;
  consumer(options: ConsumerOptions): Promise<LogConsumer>;
}
