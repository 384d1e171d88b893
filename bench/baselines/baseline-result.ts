import type { LatencySummary } from '../histogram.ts';

/** What one baseline measured, or why it was skipped. */
export interface BaselineResult {
  /** Likes (or requests, for hello-world) per second; null when skipped. */
  readonly perSec: number | null;
  /** Events (or requests) done. */
  readonly operations: number;
  readonly seconds: number;
  /** Whether its counts matched the generator's (null when not applicable or skipped). */
  readonly correct: boolean | null;
  readonly latency?: LatencySummary;
  readonly note: string;
  readonly skipped?: string;
  /** CPU cores used by the load generator and by the baseline's server process, when measured. */
  readonly clientCores?: number;
  readonly serverCores?: number;
}

/** A baseline that did not run. */
export function skippedBaseline(reason: string): BaselineResult {
  return { perSec: null, operations: 0, seconds: 0, correct: null, note: '', skipped: reason };
}
