import type { StreamPosition } from '../domain/change.ts';

/**
 * A stage's view of the positions its store has applied, per partition: where the next batch of
 * each partition must start (the fence the store checks). Refreshed from the store whenever
 * partitions are assigned, advanced after each applied batch.
 */
export class AppliedPositions {
  readonly #offsets = new Map<number, number>();

  /** Takes the store's positions (on open and on every assignment). */
  refresh(stored: readonly StreamPosition[]): void {
    for (const p of stored) this.#offsets.set(p.partition, p.offset);
  }

  /** The applied offset of a partition; 0 when nothing was applied there. */
  offset(partition: number): number {
    return this.#offsets.get(partition) ?? 0;
  }

  /** Where a batch ending at `to` must start: the applied offset of each of its partitions. */
  from(to: readonly StreamPosition[]): StreamPosition[] {
    return to.map((p) => ({ partition: p.partition, offset: this.offset(p.partition) }));
  }

  /** Records a batch as applied. */
  advance(to: readonly StreamPosition[]): void {
    this.refresh(to);
  }
}
