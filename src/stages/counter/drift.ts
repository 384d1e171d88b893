import type { Change } from '../../domain/change.ts';
import type { CounterStore } from '../../ports/counter-store.ts';

export interface Drift {
  readonly postId: string;
  /** What the counter would have held at the recount's place in the feed. */
  readonly counted: number;
  /** The number of rows the recount found. */
  readonly recounted: number;
}

/**
 * For each recount in a batch, compares the rows it found with what the counter would hold at
 * that point of the feed (stored count plus the deltas before it in the batch). Only reads the
 * store when the batch holds recounts.
 */
export async function findDrift(changes: readonly Change[], store: CounterStore): Promise<Drift[]> {
  const recounted = changes.filter((c) => c.kind === 'recount').map((c) => c.postId);
  if (recounted.length === 0) return [];
  const stored = await store.getMany(recounted);
  const running = new Map<string, number>();
  const drift: Drift[] = [];
  const interesting = new Set(recounted);
  for (const change of changes) {
    if (!interesting.has(change.postId)) continue;
    const current = running.get(change.postId) ?? stored.get(change.postId)?.count ?? 0;
    if (change.kind === 'delta') {
      running.set(change.postId, current + change.delta);
    } else {
      if (current !== change.count) drift.push({ postId: change.postId, counted: current, recounted: change.count });
      running.set(change.postId, change.count);
    }
  }
  return drift;
}
