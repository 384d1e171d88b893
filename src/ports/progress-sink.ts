import type { StreamPosition } from '../domain/change.ts';

/** Where ingest and counter report their progress (in process, or across a thread boundary). */
export interface ProgressSink {
  /** Ingest applied the log up to `logPositions`; the change feed stood at `feedPositions` right after. */
  ingested(logPositions: readonly StreamPosition[], feedPositions: readonly StreamPosition[] | undefined): void;
  /** The counter applied the change feed up to `feedPositions`. */
  counted(feedPositions: readonly StreamPosition[]): void;
}
