import type { Change } from '../../domain/change.ts';
import { isErasureMarker, type ErasureMarker } from '../../domain/erasure.ts';
import { TallyError } from '../../domain/errors.ts';
import type { LikeEvent } from '../../domain/like-event.ts';

/**
 * JSON values of the Tally topics. The formats are documented for outside Kafka clients at the
 * top of `kafka-event-log.ts` (like events) and `kafka-change-feed.ts` (changes).
 */

/** A like event as the JSON text of the like-events topic (an element of a bundle, or a record's whole value). */
export function encodeEvent(event: LikeEvent): string {
  return JSON.stringify({ op: event.op, postId: event.postId, userId: event.userId, at: event.at });
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
 * The events of one like-events record: a bundle (a JSON array of like events, as Tally writes
 * with `--kafka-record-events` above 1) or a single event or marker. Undefined when the record is
 * not Tally's: not JSON, or an array with anything but like events in it (a record is one unit;
 * a bundle never holds a marker, so a marker in an array throws rather than being applied out of
 * place).
 */
export function decodeEvents(value: Buffer | null): readonly (LikeEvent | ErasureMarker)[] | undefined {
  return entriesIn(parse(value), eventOf, bundledEventOf);
}

function bundledEventOf(item: Record<string, unknown>): LikeEvent | undefined {
  const event = eventOf(item);
  if (event !== undefined && isErasureMarker(event)) {
    throw new TallyError('internal', `the like-events log holds an erasure marker inside a bundle, which Tally never writes: ${JSON.stringify(item).slice(0, 200)}; refusing to apply it out of place`);
  }
  return event;
}

/**
 * A like event or an erasure marker, or undefined when the object is not a Tally event (a message
 * from a foreign producer). An `op` that names an erasure this version does not know, or a
 * malformed marker, throws: skipping it would silently lose the erasure.
 */
function eventOf(v: Record<string, unknown>): LikeEvent | ErasureMarker | undefined {
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

/**
 * How many entries a record holds, without parsing it: the number of `entryStart` in a bundle
 * (the opening of each element as Tally writes it, e.g. `{"op":`), 1 for anything else. Weighs
 * records for batch bounds; a foreign record's weight only needs to be plausible.
 */
export function entriesOf(value: Buffer | null, entryStart: Buffer): number {
  if (value === null || value[0] !== 0x5b /* [ */) return 1;
  let count = 0;
  for (let at = value.indexOf(entryStart, 1); at >= 0; at = value.indexOf(entryStart, at + entryStart.length)) count++;
  return Math.max(1, count);
}

/** The opening of every like event Tally writes (`encodeEvent`). */
export const EVENT_START = Buffer.from('{"op":');
/** The opening of every change Tally writes (`encodeChange`). */
export const CHANGE_START = Buffer.from('{"kind":');

/** A change as the JSON text of the like-changes topic; `source` is the capture position of the change. */
export function encodeChange(change: Change, source: string): string {
  const value =
    change.kind === 'delta'
      ? { kind: 'delta', postId: change.postId, userId: change.userId, delta: change.delta, source }
      : { kind: 'recount', postId: change.postId, count: change.count, source };
  return JSON.stringify(value);
}

/**
 * The changes of one like-changes record: a bundle (a JSON array of changes) or a single change;
 * undefined when the record is not Tally's (any element that is not a change makes the whole
 * record foreign).
 */
export function decodeChanges(value: Buffer | null): readonly { change: Change; source: string }[] | undefined {
  return entriesIn(parse(value), changeOf);
}

/**
 * The entries of a parsed record: one object, or each element of a non-empty array (decoded by
 * `inBundle`); undefined when the record, or any element, is not one.
 */
function entriesIn<T>(v: unknown, one: (o: Record<string, unknown>) => T | undefined, inBundle: (o: Record<string, unknown>) => T | undefined = one): readonly T[] | undefined {
  if (isObject(v)) {
    const entry = one(v);
    return entry === undefined ? undefined : [entry];
  }
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const entries: T[] = [];
  for (const item of v) {
    const entry = isObject(item) ? inBundle(item) : undefined;
    if (entry === undefined) return undefined;
    entries.push(entry);
  }
  return entries;
}

function changeOf(v: Record<string, unknown>): { change: Change; source: string } | undefined {
  if (typeof v.postId !== 'string' || typeof v.source !== 'string') return undefined;
  if (v.kind === 'delta' && typeof v.userId === 'string' && (v.delta === 1 || v.delta === -1)) {
    return { change: { kind: 'delta', postId: v.postId, userId: v.userId, delta: v.delta }, source: v.source };
  }
  if (v.kind === 'recount' && typeof v.count === 'number' && Number.isSafeInteger(v.count) && v.count >= 0) {
    return { change: { kind: 'recount', postId: v.postId, count: v.count }, source: v.source };
  }
  return undefined;
}

/** Only the `source` of a change record (reading the last record of a partition back): a bundle's last change's. */
export function decodeSource(value: Buffer | null): string | undefined {
  const v = parse(value);
  const last: unknown = Array.isArray(v) ? v[v.length - 1] : v;
  const source = isObject(last) ? last.source : undefined;
  return typeof source === 'string' ? source : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parse(value: Buffer | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
