import type { Change } from '../../domain/change.ts';
import { classifyPk } from './likes-keys.ts';

/** A DynamoDB stream record of the likes table, reduced to what the capture reads. */
export interface LikesStreamRecord {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly sequenceNumber: string;
  readonly pk: string;
  readonly sk: string;
  /** The item existed before this write. */
  readonly hadOld: boolean;
  /** The item exists after this write. */
  readonly hasNew: boolean;
  /** A recount marker's `count` (from the new image). */
  readonly count: number | undefined;
}

/**
 * The change a record stands for, or undefined: a like item that appeared is +1, one that
 * disappeared -1, a rewrite of an existing item nothing; a recount marker written is a `recount`.
 * Deltas come from the images, not from the event name, so a record that changes nothing counts
 * nothing. (The emulator emits two INSERT records for an UpdateItem that creates an item; AWS emits
 * one. Tally writes like items only with PutItem, which both emit once.)
 */
export function recordToChange(record: LikesStreamRecord): Change | undefined {
  const kind = classifyPk(record.pk);
  if (kind.kind === 'recount') {
    return record.hasNew && record.count !== undefined ? { kind: 'recount', postId: kind.postId, count: record.count } : undefined;
  }
  if (kind.kind !== 'like') return undefined;
  const delta = Number(record.hasNew) - Number(record.hadOld);
  if (delta === 0) return undefined;
  return { kind: 'delta', postId: kind.postId, userId: record.sk, delta: delta > 0 ? 1 : -1 };
}

/** Compares two stream sequence numbers (decimal strings of up to 40 digits) numerically. */
export function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
