import type { Change } from '../../domain/change.ts';
import type { ErasureMarker } from '../../domain/erasure.ts';
import { TallyError } from '../../domain/errors.ts';
import type { LikeEvent } from '../../domain/like-event.ts';

/** Log records hold many events as compact JSON tuples: [op, postId, userId, at], op 1 = like, 0 = unlike. */
type EventTuple = [0 | 1, string, string, number];

export function encodeEvents(events: readonly LikeEvent[]): string {
  const tuples: EventTuple[] = events.map((e) => [e.op === 'like' ? 1 : 0, e.postId, e.userId, e.at]);
  return JSON.stringify(tuples);
}

export function decodeEvents(payload: string): LikeEvent[] {
  const tuples = JSON.parse(payload) as EventTuple[];
  return tuples.map(([op, postId, userId, at]) => {
    if (op !== 1 && op !== 0) throw unknownRecord(payload);
    return { op: op === 1 ? 'like' : 'unlike', postId, userId, at };
  });
}

/**
 * An erasure marker is a log record of its own (event_count 1): a JSON object
 * `{"erase": [kind, erasureId, target, at, shards]}`, kind 'u' = user, 'p' = post.
 */
type MarkerTuple = ['u' | 'p', string, string, number, number];

export function encodeMarker(marker: ErasureMarker): string {
  const tuple: MarkerTuple = [marker.op === 'erase-user' ? 'u' : 'p', marker.erasureId, marker.target, marker.at, marker.shards];
  return JSON.stringify({ erase: tuple });
}

/** The events of a log record, or its marker. A record this version does not know stops ingest loudly. */
export function decodeRecord(payload: string): LikeEvent[] | ErasureMarker {
  if (!payload.startsWith('{')) return decodeEvents(payload);
  const parsed = JSON.parse(payload) as { erase?: unknown };
  const t = parsed.erase;
  if (!Array.isArray(t) || t.length !== 5 || (t[0] !== 'u' && t[0] !== 'p') || typeof t[1] !== 'string' || typeof t[2] !== 'string' || typeof t[3] !== 'number' || typeof t[4] !== 'number') {
    throw unknownRecord(payload);
  }
  const [kind, erasureId, target, at, shards] = t as MarkerTuple;
  return { op: kind === 'u' ? 'erase-user' : 'erase-post', erasureId, target, at, shards };
}

function unknownRecord(payload: string): TallyError {
  return new TallyError('internal', `the embedded log holds a record this version of Tally does not know (${payload.slice(0, 120)}); it was written by a newer version: run that version`);
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
