import type { Change } from '../../domain/change.ts';
import type { ErasureMarker } from '../../domain/erasure.ts';
import { TallyError } from '../../domain/errors.ts';
import type { LikeEvent } from '../../domain/like-event.ts';

/**
 * JSON values of the Tally topics. The formats are documented for outside Kafka clients at the
 * top of `kafka-event-log.ts` (like events) and `kafka-change-feed.ts` (changes).
 */

/** The value of a like-events message. */
export function encodeEvent(event: LikeEvent): Buffer {
  return Buffer.from(JSON.stringify({ op: event.op, postId: event.postId, userId: event.userId, at: event.at }));
}

/** The value of an erasure marker message: `{"op":"erase-user"|"erase-post","erasureId","target","at","shards"}`. */
export function encodeMarker(marker: ErasureMarker): Buffer {
  return Buffer.from(JSON.stringify({ op: marker.op, erasureId: marker.erasureId, target: marker.target, at: marker.at, shards: marker.shards }));
}

const MARKER_PREFIX = Buffer.from('{"op":"erase');

/** Cheap test of a raw value (no JSON parse): whether it is an erasure marker as `encodeMarker` writes it. */
export function isMarkerValue(value: Buffer | null): boolean {
  return value !== null && value.length > MARKER_PREFIX.length && value.subarray(0, MARKER_PREFIX.length).equals(MARKER_PREFIX);
}

/**
 * A like event or an erasure marker, or undefined when the value is not a Tally event (a message
 * from a foreign producer). An `op` that names an erasure this version does not know, or a
 * malformed marker, throws: skipping it would silently lose the erasure.
 */
export function decodeEvent(value: Buffer | null): LikeEvent | ErasureMarker | undefined {
  const v = parse(value);
  if (v === undefined) return undefined;
  const { op, postId, userId, at } = v;
  if (typeof op === 'string' && op.startsWith('erase')) {
    const { erasureId, target, shards } = v;
    if ((op !== 'erase-user' && op !== 'erase-post') || typeof erasureId !== 'string' || typeof target !== 'string' || typeof at !== 'number' || typeof shards !== 'number') {
      throw new TallyError('internal', `the like-events log holds an erasure this version of Tally does not know: ${JSON.stringify(v).slice(0, 200)}; run the version that wrote it`);
    }
    return { op, erasureId, target, at, shards };
  }
  if ((op !== 'like' && op !== 'unlike') || typeof postId !== 'string' || typeof userId !== 'string' || typeof at !== 'number') return undefined;
  return { op, postId, userId, at };
}

/** The value of a like-changes message; `source` is the capture position of the change. */
export function encodeChange(change: Change, source: string): Buffer {
  const value =
    change.kind === 'delta'
      ? { kind: 'delta', postId: change.postId, userId: change.userId, delta: change.delta, source }
      : { kind: 'recount', postId: change.postId, count: change.count, source };
  return Buffer.from(JSON.stringify(value));
}

/** A change and its source position, or undefined when the value is not one. */
export function decodeChange(value: Buffer | null): { change: Change; source: string } | undefined {
  const v = parse(value);
  if (v === undefined || typeof v.postId !== 'string' || typeof v.source !== 'string') return undefined;
  if (v.kind === 'delta' && typeof v.userId === 'string' && (v.delta === 1 || v.delta === -1)) {
    return { change: { kind: 'delta', postId: v.postId, userId: v.userId, delta: v.delta }, source: v.source };
  }
  if (v.kind === 'recount' && typeof v.count === 'number' && Number.isSafeInteger(v.count) && v.count >= 0) {
    return { change: { kind: 'recount', postId: v.postId, count: v.count }, source: v.source };
  }
  return undefined;
}

/** Only the `source` of a change value (reading the last message of a partition back). */
export function decodeSource(value: Buffer | null): string | undefined {
  const source = parse(value)?.source;
  return typeof source === 'string' ? source : undefined;
}

function parse(value: Buffer | null): Record<string, unknown> | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
