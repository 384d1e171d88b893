/**
 * Where a source database's change stream stands against the `cdc` relay, for `?wait=applied`.
 * Marks are fixed-width strings that sort in commit order (PostgreSQL LSNs as 16 hex digits); a
 * profile whose changes need no relay answers the same mark for both. Its store profile opens and
 * closes it.
 */
export interface SourceProgress {
  /** The source's current change position (after everything committed so far). */
  sourceMark(): Promise<string>;
  /** The position up to which the relay has published every change into the feed. */
  relayConfirmed(): Promise<string>;
  /**
   * Whether a confirmed position includes a mark, for marks that are not ordered as strings (a
   * vector of per-stream places on Cassandra); plain `confirmed >= mark` when absent.
   */
  readonly relayCovers?: (confirmed: string, mark: string) => boolean;
}
