import type { ProgressSink } from './progress-sink.ts';
import type { StreamPosition } from '../domain/change.ts';

/** How far the pipeline has got; the api uses it for `?wait=applied` and back-pressure. */
export interface PipelineProgress {
  /**
   * Resolves true once every event before these log positions is reflected in the counts, or
   * false when `timeoutMs` passes first.
   */
  waitApplied(logPositions: readonly StreamPosition[], timeoutMs: number): Promise<boolean>;
  /** Events appended to the log and not yet applied to the likes store (0 when unknown). */
  ingestLag(): number;
}

/**
 * Progress kept in this process (the embedded mode): ingest and counter report to it directly or
 * through the pipeline thread's messages, and the api asks it for `?wait=applied` and the drain.
 */
export interface InProcessTracker extends PipelineProgress, ProgressSink {
  /** The api appended events up to these log positions. */
  appended(positions: readonly StreamPosition[]): void;
  /** Resolves true once the counter has applied every change ingest reported, false after `timeoutMs`. */
  waitDrained(timeoutMs: number): Promise<boolean>;
  /** Releases the waiters. */
  close(): void;
}
