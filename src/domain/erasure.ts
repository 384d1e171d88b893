import { randomBytes } from 'node:crypto';
import { fnv1a } from './hash.ts';
import { logPartitionOf } from './log-key.ts';

/** What an erasure removes: every like a user gave, or every like of a post. */
export type ErasureKind = 'user' | 'post';

/**
 * An erasure as appended to the like-events log: a marker, written to every log partition that
 * can hold likes it concerns (every partition for a user; the post's sub-shard partitions for a
 * post). In each partition, ingest removes the matching rows that exist when it reaches the
 * marker; a like that comes after the marker in its partition was sent after the erasure was
 * accepted, and stays.
 */
export interface ErasureMarker {
  readonly op: 'erase-user' | 'erase-post';
  /** Unique per request: the status of an erasure is kept under it. */
  readonly erasureId: string;
  /** The user id (`erase-user`) or the post id (`erase-post`). */
  readonly target: string;
  /** Milliseconds since the epoch at which the api accepted the erasure. */
  readonly at: number;
  /**
   * The log's sub-shards S when the marker was written (1 in embedded mode): with the partition
   * count it says which partition holds each (post, user) pair's events. S may only change while
   * the log is drained, so every event before the marker was written with this S.
   */
  readonly shards: number;
}

/** True for a marker (log records hold likes or markers). */
export function isErasureMarker(value: object): value is ErasureMarker {
  return 'erasureId' in value;
}

/** The marker's kind. */
export function erasureKind(marker: ErasureMarker): ErasureKind {
  return marker.op === 'erase-user' ? 'user' : 'post';
}

/** A new marker for `target`, accepted now. */
export function newErasure(kind: ErasureKind, target: string, shards: number, at = Date.now()): ErasureMarker {
  return { op: kind === 'user' ? 'erase-user' : 'erase-post', erasureId: `${at.toString(36)}-${randomBytes(6).toString('hex')}`, target, at, shards };
}

/** The log partitions a marker is written to, ascending. */
export function markerPartitions(marker: ErasureMarker, partitions: number): number[] {
  if (marker.op === 'erase-user') return Array.from({ length: partitions }, (_, p) => p);
  const found = new Set<number>();
  const base = fnv1a(marker.target);
  for (let k = 0; k < Math.max(1, marker.shards); k++) found.add((base + k) % partitions);
  return [...found].sort((a, b) => a - b);
}

/**
 * True when the (post, user) row belongs to the part of the erasure that the marker in
 * `partition` handles: its events travel through that partition.
 */
export function rowInPartition(marker: ErasureMarker, postId: string, userId: string, partition: number, partitions: number): boolean {
  return logPartitionOf(postId, userId, marker.shards, partitions) === partition;
}

/** What an erasure has done so far, as GET /v1/users/{userId}/erasure reports it. */
export interface ErasureStatus {
  readonly erasureId: string;
  readonly kind: ErasureKind;
  readonly target: string;
  /** `pending` until every partition's part is done, then `applied`. */
  readonly status: 'pending' | 'applied';
  /** Likes removed so far. */
  readonly removed: number;
  readonly partitionsDone: number;
  readonly partitionsTotal: number;
  /** Milliseconds since the epoch. */
  readonly acceptedAt: number;
}
