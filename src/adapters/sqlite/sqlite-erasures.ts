import type { Change, StreamPosition } from '../../domain/change.ts';
import { erasureKind, markerPartitions, rowInPartition, type ErasureKind, type ErasureMarker, type ErasureStatus } from '../../domain/erasure.ts';
import type { EraseStepResult, MarkerPlace } from '../../ports/likes-store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import type { SqlitePositions } from './sqlite-positions.ts';
import type { SqliteUserLikes, UserLikesAfter } from './sqlite-user-likes.ts';

/** What a step needs from the likes store: its positions, and how it writes change records. */
export interface ErasureHost {
  readonly positions: SqlitePositions;
  /** Inside the caller's transaction: writes the change record, returns the feed position after it. */
  readonly recordChanges: (changes: readonly Change[]) => number;
  /** Inside the caller's transaction: the feed position after the last record. */
  readonly feedEnd: () => number;
}

/**
 * The erasures of the embedded likes store: the `erasures` and `erasure_parts` tables, changed in
 * the same transaction as the deletes, so the removed count and the log position past a marker
 * are exact across crashes. A part scans the target's rows in index order from a stored cursor,
 * at most `limit` rows a step, and deletes those whose events travel through its partition.
 */
export class SqliteErasures {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepare>;
  readonly #userLikes: SqliteUserLikes;

  constructor(db: SqliteDatabase, userLikes: SqliteUserLikes) {
    this.#db = db;
    this.#userLikes = userLikes;
    this.#s = prepare(db);
  }

  step(host: ErasureHost, marker: ErasureMarker, place: MarkerPlace, limit: number): EraseStepResult & { changes: number } {
    const s = this.#s;
    const at: StreamPosition = { partition: place.partition, offset: place.offset };
    return this.#db.transaction('crash-safe', () => {
      host.positions.advance([at], []);
      s.acceptErasure.run(marker.erasureId, erasureKind(marker), marker.target, marker.at, markerPartitions(marker, place.partitions).length);
      const part = s.part.get(marker.erasureId, place.partition) as { cursor: string; removed: number; done: number } | undefined;
      const changes: Change[] = [];
      let cursor = part?.cursor ?? '';
      let scanned = 0;
      if (part?.done !== 1) {
        if (marker.op === 'erase-user') {
          const rows = this.#userLikes.page(marker.target, limit, cursor === '' ? undefined : userCursor(cursor));
          scanned = rows.length;
          for (const row of rows) {
            if (!rowInPartition(marker, row.post_id, marker.target, place.partition, place.partitions)) continue;
            if (s.remove.run(row.post_id, row.shard, marker.target).changes > 0) changes.push({ kind: 'delta', postId: row.post_id, userId: marker.target, delta: -1 });
          }
          const last = rows.at(-1);
          if (last !== undefined) cursor = `${last.liked_at} ${last.post_id}`;
        } else {
          const rows = (cursor === '' ? s.postFirst.all(marker.target, limit) : s.postAfter.all(marker.target, ...postCursor(cursor), limit)) as { shard: number; user_id: string }[];
          scanned = rows.length;
          for (const row of rows) {
            if (!rowInPartition(marker, marker.target, row.user_id, place.partition, place.partitions)) continue;
            if (s.remove.run(marker.target, row.shard, row.user_id).changes > 0) changes.push({ kind: 'delta', postId: marker.target, userId: row.user_id, delta: -1 });
          }
          const last = rows.at(-1);
          if (last !== undefined) cursor = `${last.shard} ${last.user_id}`;
        }
      }
      const done = scanned < limit;
      s.savePart.run(marker.erasureId, place.partition, cursor, (part?.removed ?? 0) + changes.length, done ? 1 : 0);
      if (done) host.positions.advance([at], [{ partition: place.partition, offset: place.offset + 1 }]);
      const next = changes.length > 0 ? host.recordChanges(changes) : host.feedEnd();
      return { removed: changes.length, done, changes: changes.length, feedPositions: [{ partition: 0, offset: next }] };
    });
  }

  accepted(marker: ErasureMarker, partitionsTotal: number): void {
    this.#s.acceptErasure.run(marker.erasureId, erasureKind(marker), marker.target, marker.at, partitionsTotal);
  }

  status(kind: ErasureKind, target: string): ErasureStatus | undefined {
    const row = this.#s.latest.get(kind, target) as { erasure_id: string; accepted_at: number; partitions_total: number } | undefined;
    if (row === undefined) return undefined;
    const parts = this.#s.progress.get(row.erasure_id) as { done: number | null; removed: number | null };
    const partitionsDone = parts.done ?? 0;
    return {
      erasureId: row.erasure_id,
      kind,
      target,
      status: partitionsDone >= row.partitions_total ? 'applied' : 'pending',
      removed: parts.removed ?? 0,
      partitionsDone,
      partitionsTotal: row.partitions_total,
      acceptedAt: row.accepted_at,
    };
  }
}

function userCursor(cursor: string): UserLikesAfter {
  const space = cursor.indexOf(' ');
  return { likedAt: Number(cursor.slice(0, space)), postId: cursor.slice(space + 1) };
}

function postCursor(cursor: string): [number, number, string] {
  const space = cursor.indexOf(' ');
  const shard = Number(cursor.slice(0, space));
  return [shard, shard, cursor.slice(space + 1)];
}

function prepare(db: SqliteDatabase) {
  const conn = db.connection;
  return {
    acceptErasure: conn.prepare('INSERT OR IGNORE INTO erasures (erasure_id, kind, target, accepted_at, partitions_total) VALUES (?, ?, ?, ?, ?)'),
    part: conn.prepare('SELECT cursor, removed, done FROM erasure_parts WHERE erasure_id = ? AND partition = ?'),
    savePart: conn.prepare(
      'INSERT INTO erasure_parts (erasure_id, partition, cursor, removed, done) VALUES (?, ?, ?, ?, ?) ON CONFLICT (erasure_id, partition) DO UPDATE SET cursor = excluded.cursor, removed = excluded.removed, done = excluded.done',
    ),
    postFirst: conn.prepare('SELECT shard, user_id FROM likes WHERE post_id = ? ORDER BY shard, user_id LIMIT ?'),
    postAfter: conn.prepare('SELECT shard, user_id FROM likes WHERE post_id = ? AND (shard > ? OR (shard = ? AND user_id > ?)) ORDER BY shard, user_id LIMIT ?'),
    remove: conn.prepare('DELETE FROM likes WHERE post_id = ? AND shard = ? AND user_id = ?'),
    latest: conn.prepare('SELECT erasure_id, accepted_at, partitions_total FROM erasures WHERE kind = ? AND target = ? ORDER BY accepted_at DESC, erasure_id DESC LIMIT 1'),
    progress: conn.prepare('SELECT SUM(done) AS done, SUM(removed) AS removed FROM erasure_parts WHERE erasure_id = ?'),
  };
}
