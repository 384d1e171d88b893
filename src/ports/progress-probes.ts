import type { StreamPosition } from '../domain/change.ts';

/**
 * Read-only views of how far each distributed stage has got, for `?wait=applied` when the stages
 * run in other processes. Positions are compared per partition; source marks are fixed-width
 * strings that sort in commit order (PostgreSQL LSNs as 16 hex digits).
 */
export interface ProgressProbes {
  /** The log positions the ingest consumer group has committed. */
  ingestCommitted(): Promise<StreamPosition[]>;
  /** The log's end positions (for the ingest lag). */
  logEnds(): Promise<StreamPosition[]>;
  /** The source database's current change position (after everything committed so far). */
  sourceMark(): Promise<string>;
  /** The source position up to which the CDC relay has published every change into the feed. */
  relayConfirmed(): Promise<string>;
  /** Compares a relay position with a source mark when strings do not sort (see SourceProgress). */
  readonly relayCovers?: (confirmed: string, mark: string) => boolean;
  /** The change feed's end positions. */
  feedEnds(): Promise<StreamPosition[]>;
  /** The feed positions the counter store has applied. */
  counterApplied(): Promise<StreamPosition[]>;
}
