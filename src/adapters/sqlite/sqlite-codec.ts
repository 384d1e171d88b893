import type { Change } from '../../domain/change.ts';
import type { LikeEvent } from '../../domain/like-event.ts';

/** Log records hold many events as compact JSON tuples: [op, postId, userId, at], op 1 = like, 0 = unlike. */
type EventTuple = [0 | 1, string, string, number];

export function encodeEvents(events: readonly LikeEvent[]): string {
  const tuples: EventTuple[] = events.map((e) => [e.op === 'like' ? 1 : 0, e.postId, e.userId, e.at]);
  return JSON.stringify(tuples);
}

export function decodeEvents(payload: string): LikeEvent[] {
  const tuples = JSON.parse(payload) as EventTuple[];
  return tuples.map(([op, postId, userId, at]) => ({ op: op === 1 ? 'like' : 'unlike', postId, userId, at }));
}

/**
 * Change records: deltas as [postId, userId, ±1], recounts as [postId, count]. One record comes
 * from one apply (deltas only) or one recount (recounts only), so the two lists never interleave.
 */
interface ChangePayload {
  d?: [string, string, 1 | -1][];
  r?: [string, number][];
}

export function encodeChanges(changes: readonly Change[]): string {
  const payload: ChangePayload = {};
  for (const change of changes) {
    if (change.kind === 'delta') (payload.d ??= []).push([change.postId, change.userId, change.delta]);
    else (payload.r ??= []).push([change.postId, change.count]);
  }
  return JSON.stringify(payload);
}

export function decodeChanges(payload: string): Change[] {
  const parsed = JSON.parse(payload) as ChangePayload;
  const changes: Change[] = [];
  for (const [postId, userId, delta] of parsed.d ?? []) changes.push({ kind: 'delta', postId, userId, delta });
  for (const [postId, count] of parsed.r ?? []) changes.push({ kind: 'recount', postId, count });
  return changes;
}
