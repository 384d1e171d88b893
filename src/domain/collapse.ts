import type { LikeEvent } from './like-event.ts';

/**
 * Reduces a batch of events (in log order) to the last event of each (post, user) pair, sorted by
 * post then user. The final likes state of a pair only depends on its last event, so the store
 * does one write per pair, in key order (much faster for B-trees than arrival order).
 *
 * Events are grouped by post, the post ids sorted by the engine's own string order (no comparator
 * call per comparison), and each post's events sorted by user, stably, so a pair's events keep
 * their log order and the last one wins. Against one sort of the whole batch behind a map keyed
 * by `post\0user`, this builds no key strings and sorts smaller arrays: 0.4-0.7 µs per event
 * instead of 0.7-1.0 (batches of 2,000 and 50,000 of the bench's Zipf workload).
 */
export function collapseToLastPerPair(events: readonly LikeEvent[]): LikeEvent[] {
  const byPost = new Map<string, LikeEvent[]>();
  for (const event of events) {
    const list = byPost.get(event.postId);
    if (list === undefined) byPost.set(event.postId, [event]);
    else list.push(event);
  }
  const posts = [...byPost.keys()].sort();
  const ordered: LikeEvent[] = [];
  for (const postId of posts) {
    const list = byPost.get(postId) as LikeEvent[];
    if (list.length === 1) {
      ordered.push(list[0] as LikeEvent);
      continue;
    }
    list.sort(compareByUser);
    for (let i = 0; i < list.length; i++) {
      const event = list[i] as LikeEvent;
      if (i + 1 === list.length || (list[i + 1] as LikeEvent).userId !== event.userId) ordered.push(event);
    }
  }
  return ordered;
}

function compareByUser(a: LikeEvent, b: LikeEvent): number {
  if (a.userId === b.userId) return 0;
  return a.userId < b.userId ? -1 : 1;
}
