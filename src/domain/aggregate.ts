import type { Change } from './change.ts';

/** The net effect of a run of changes on one post's counter. */
export interface CounterUpdate {
  /** When a recount was seen: the count it set; deltas after it are added to it. */
  readonly base: number | undefined;
  /** Sum of the deltas after the last recount (or all deltas when there was none). */
  readonly delta: number;
}

/** Folds changes (in feed order) into one update per post. */
export function aggregateChanges(changes: Iterable<Change>): Map<string, CounterUpdate> {
  const updates = new Map<string, { base: number | undefined; delta: number }>();
  for (const change of changes) {
    let update = updates.get(change.postId);
    if (update === undefined) {
      update = { base: undefined, delta: 0 };
      updates.set(change.postId, update);
    }
    if (change.kind === 'delta') {
      update.delta += change.delta;
    } else {
      update.base = change.count;
      update.delta = 0;
    }
  }
  return updates;
}

/** Applies an update to the count stored before it. */
export function applyUpdate(previous: number, update: CounterUpdate): number {
  return (update.base ?? previous) + update.delta;
}
