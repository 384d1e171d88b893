import type { LikeEvent } from './like-event.ts';

/**
 * Reduces a batch of events (in log order) to the last event of each (post, user) pair, sorted by
 * post then user. The final likes state of a pair only depends on its last event, so the store
 * does one write per pair, in key order (much faster for B-trees than arrival order).
 */
export function collapseToLastPerPair(events: readonly LikeEvent[]): LikeEvent[] {
  const last = new Map<string, LikeEvent>();
  for (const event of events) {
    const key = `${event.postId}\u0000${event.userId}`;
    last.set(key, event);
  }
  return [...last.values()].sort(compareByPostThenUser);
}

function compareByPostThenUser(a: LikeEvent, b: LikeEvent): number {
  if (a.postId !== b.postId) return a.postId < b.postId ? -1 : 1;
  if (a.userId !== b.userId) return a.userId < b.userId ? -1 : 1;
  return 0;
}
