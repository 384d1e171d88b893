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
