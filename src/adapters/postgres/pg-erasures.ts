import { erasureKind, markerPartitions, rowInPartition, type ErasureKind, type ErasureMarker, type ErasureStatus } from '../../domain/erasure.ts';
import type { EraseStepResult, MarkerPlace } from '../../ports/likes-store.ts';
import type { PgQueryable } from './pg-client.ts';
import type { PostLocks } from './pg-post-locks.ts';
import type { PgPositions } from './pg-positions.ts';
import type { PgNames } from './pg-schema.ts';

/**
 * The erasures of the PostgreSQL likes store: each step is one transaction holding the fence on
 * the marker's log position, at most `limit` scanned rows, their deletes (which reach the change
 * feed through logical replication like any unlike), the part's cursor and removed count, and,
 * once the part is complete, the log position past the marker.
 */
export class PgErasures {
  readonly #sql: ReturnType<typeof statements>;
  readonly #positions: PgPositions;
  readonly #locks: PostLocks;

  constructor(names: PgNames, positions: PgPositions, locks: PostLocks) {
    this.#sql = statements(names);
    this.#positions = positions;
    this.#locks = locks;
  }

  async step(tx: PgQueryable, marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult> {
    const at = { partition: place.partition, offset: place.offset };
    await this.#positions.advance(tx, [at], []);
    await this.accepted(tx, marker, markerPartitions(marker, place.partitions).length);
    const part = (await tx.query<{ cursor: string; removed: string; done: boolean }>(this.#sql.part, [marker.erasureId, place.partition])).rows[0];
    let cursor = part?.cursor ?? '';
    let scanned = 0;
    const doomed = { posts: [] as string[], shards: [] as number[], users: [] as string[] };
    if (part?.done !== true) {
      if (marker.op === 'erase-user') {
        const [likedAt, postId] = splitCursor(cursor);
        const rows = (await tx.query<{ post_id: string; shard: number; liked_at: string }>(cursor === '' ? this.#sql.userFirst : this.#sql.userAfter, cursor === '' ? [marker.target, limit] : [marker.target, likedAt, postId, limit])).rows;
        scanned = rows.length;
        for (const row of rows) {
          if (!rowInPartition(marker, row.post_id, marker.target, place.partition, place.partitions)) continue;
          doomed.posts.push(row.post_id);
          doomed.shards.push(row.shard);
          doomed.users.push(marker.target);
        }
        const last = rows.at(-1);
        if (last !== undefined) cursor = `${last.liked_at} ${last.post_id}`;
      } else {
        const [shard, userId] = splitCursor(cursor);
        const rows = (await tx.query<{ shard: number; user_id: string }>(cursor === '' ? this.#sql.postFirst : this.#sql.postAfter, cursor === '' ? [marker.target, limit] : [marker.target, shard, userId, limit])).rows;
        scanned = rows.length;
        for (const row of rows) {
          if (!rowInPartition(marker, marker.target, row.user_id, place.partition, place.partitions)) continue;
          doomed.posts.push(marker.target);
          doomed.shards.push(row.shard);
          doomed.users.push(row.user_id);
        }
        const last = rows.at(-1);
        if (last !== undefined) cursor = `${last.shard} ${last.user_id}`;
      }
    }
    let removed = 0;
    if (doomed.posts.length > 0) {
      // The same locks as an apply: a recount of these posts never sees half of this step.
      await this.#locks.shared(tx, new Set(doomed.posts));
      await tx.query(this.#sql.probeByKey);
      removed = (await tx.query(this.#sql.remove, [doomed.posts, doomed.shards, doomed.users])).rowCount ?? 0;
    }
    const done = scanned < limit;
    await tx.query(this.#sql.savePart, [marker.erasureId, place.partition, cursor, Number(part?.removed ?? 0) + removed, done]);
    if (done) await this.#positions.advance(tx, [at], [{ partition: place.partition, offset: place.offset + 1 }]);
    return { removed, done };
  }

  async accepted(db: PgQueryable, marker: ErasureMarker, partitionsTotal: number): Promise<void> {
    await db.query(this.#sql.accept, [marker.erasureId, erasureKind(marker), marker.target, marker.at, partitionsTotal]);
  }

  async status(db: PgQueryable, kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    const row = (await db.query<{ erasure_id: string; accepted_at: string; partitions_total: number; done: string | null; removed: string | null }>(this.#sql.status, [kind, target])).rows[0];
    if (row === undefined) return undefined;
    const partitionsDone = Number(row.done ?? 0);
    return {
      erasureId: row.erasure_id,
      kind,
      target,
      status: partitionsDone >= row.partitions_total ? 'applied' : 'pending',
      removed: Number(row.removed ?? 0),
      partitionsDone,
      partitionsTotal: row.partitions_total,
      acceptedAt: Number(row.accepted_at),
    };
  }
}

function splitCursor(cursor: string): [string, string] {
  const space = cursor.indexOf(' ');
  return [cursor.slice(0, space), cursor.slice(space + 1)];
}

function statements(n: PgNames) {
  return {
    accept: `INSERT INTO ${n.erasures} (erasure_id, kind, target, accepted_at, partitions_total) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    part: `SELECT cursor, removed, done FROM ${n.erasureParts} WHERE erasure_id = $1 AND partition = $2 FOR UPDATE`,
    savePart: `INSERT INTO ${n.erasureParts} (erasure_id, partition, cursor, removed, done) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (erasure_id, partition) DO UPDATE SET cursor = excluded.cursor, removed = excluded.removed, done = excluded.done`,
    // The user's rows newest first: the order of the Likes tab's index (user_id, liked_at DESC, post_id).
    userFirst: `SELECT post_id, shard, liked_at FROM ${n.likes} WHERE user_id = $1 ORDER BY liked_at DESC, post_id ASC LIMIT $2`,
    userAfter: `SELECT post_id, shard, liked_at FROM ${n.likes} WHERE user_id = $1
      AND (liked_at < $2::int8 OR (liked_at = $2::int8 AND post_id > $3)) ORDER BY liked_at DESC, post_id ASC LIMIT $4`,
    postFirst: `SELECT shard, user_id FROM ${n.likes} WHERE post_id = $1 ORDER BY shard, user_id LIMIT $2`,
    postAfter: `SELECT shard, user_id FROM ${n.likes} WHERE post_id = $1
      AND (shard, user_id) > ($2::int2, $3) ORDER BY shard, user_id LIMIT $4`,
    probeByKey: 'SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off',
    remove: `DELETE FROM ${n.likes} AS l
      USING unnest($1::text[], $2::int2[], $3::text[]) AS d(post_id, shard, user_id)
      WHERE l.post_id = d.post_id AND l.shard = d.shard AND l.user_id = d.user_id`,
    status: `SELECT e.erasure_id, e.accepted_at, e.partitions_total,
        (SELECT count(*) FROM ${n.erasureParts} p WHERE p.erasure_id = e.erasure_id AND p.done) AS done,
        (SELECT sum(removed) FROM ${n.erasureParts} p WHERE p.erasure_id = e.erasure_id) AS removed
      FROM ${n.erasures} e WHERE e.kind = $1 AND e.target = $2 ORDER BY e.accepted_at DESC, e.erasure_id DESC LIMIT 1`,
  };
}
