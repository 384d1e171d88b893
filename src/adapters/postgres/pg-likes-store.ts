import type { StreamPosition } from '../../domain/change.ts';
import { collapseToLastPerPair } from '../../domain/collapse.ts';
import { decodeCursor, decodeUserLikesCursor, encodeCursor, encodeUserLikesCursor } from '../../domain/cursor.ts';
import { shardOf } from '../../domain/hash.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import type { ErasureKind, ErasureMarker, ErasureStatus } from '../../domain/erasure.ts';
import type { ApplyResult, EraseStepResult, LikersPage, LikesStore, LogFence, MarkerPlace, UserLikesPage } from '../../ports/likes-store.ts';
import { PgErasures } from './pg-erasures.ts';
import { inTransaction, PgPoolLifecycle, queryOnce, type PgPool } from './pg-client.ts';
import { postLocks, type PostLocks } from './pg-post-locks.ts';
import { PgPositions } from './pg-positions.ts';
import { pgNames, type PgNames } from './pg-schema.ts';

export interface PgLikesStoreOptions {
  /** PostgreSQL connection URL. */
  readonly url: string;
  /** Schema (and publication, slot) prefix; `migratePostgres` must have created it. */
  readonly namespace: string;
  /** Shards per post in the row key: (post, hash(user) mod shards, user). */
  readonly shards: number;
  /** Most connections of the pool (default 8). */
  readonly maxConnections?: number;
}

/**
 * The PostgreSQL likes store: one row per (post, shard, user) in a table hash-partitioned by post.
 * Batches are applied with one set-based statement per kind. The change feed comes from logical
 * replication of this table (see `PgChangeCapture`), so a row and its change are one commit.
 */
export class PgLikesStore implements LikesStore {
  readonly #options: PgLikesStoreOptions;
  readonly #names: PgNames;
  readonly #locks: PostLocks;
  readonly #sql: ReturnType<typeof statements>;
  readonly #pool: PgPoolLifecycle;
  readonly #positions: PgPositions;
  readonly #erasures: PgErasures;

  constructor(options: PgLikesStoreOptions) {
    this.#options = options;
    this.#names = pgNames(options.namespace);
    this.#positions = new PgPositions(this.#names.ingestPositions, 'likes store (ingest positions)');
    this.#locks = postLocks(options.namespace);
    this.#sql = statements(this.#names);
    this.#pool = new PgPoolLifecycle({ url: options.url, max: options.maxConnections ?? 8, applicationName: `tally-likes-${options.namespace}` }, 'PostgreSQL likes store');
    this.#erasures = new PgErasures(this.#names, this.#positions, this.#locks);
  }

  async init(): Promise<void> {
    this.#pool.open();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  get #db(): PgPool {
    return this.#pool.pool;
  }

  async apply(events: readonly LikeEvent[], fence?: LogFence): Promise<ApplyResult> {
    const ordered = collapseToLastPerPair(events);
    if (ordered.length === 0 && fence === undefined) return { changed: 0 };
    const likes = columns();
    const unlikes = columns();
    const posts = new Set<string>();
    for (const event of ordered) {
      const target = event.op === 'like' ? likes : unlikes;
      target.posts.push(event.postId);
      target.shards.push(shardOf(event.userId, this.#options.shards));
      target.users.push(event.userId);
      target.at.push(event.at);
      posts.add(event.postId);
    }
    return inTransaction(this.#db, async (tx) => {
      if (fence !== undefined) await this.#positions.advance(tx, fence.from, fence.to);
      await this.#locks.shared(tx, posts);
      let changed = 0;
      if (likes.posts.length > 0) {
        changed += (await tx.query(this.#sql.insert, [likes.posts, likes.shards, likes.users, likes.at])).rowCount ?? 0;
      }
      if (unlikes.posts.length > 0) {
        await tx.query(this.#sql.probeByKey);
        changed += (await tx.query(this.#sql.remove, [unlikes.posts, unlikes.shards, unlikes.users])).rowCount ?? 0;
      }
      return { changed };
    });
  }

  logPositions(): Promise<StreamPosition[]> {
    return this.#positions.read(this.#db);
  }

  async likedPosts(userId: string, postIds: readonly string[]): Promise<Set<string>> {
    if (postIds.length === 0) return new Set();
    const shard = shardOf(userId, this.#options.shards);
    const result = await queryOnce<{ post_id: string }>(this.#db, this.#sql.liked, [userId, shard, postIds]);
    return new Set(result.rows.map((row) => row.post_id));
  }

  async likers(postId: string, limit: number, cursor: string | undefined): Promise<LikersPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const result =
      after === undefined
        ? await queryOnce<{ user_id: string; liked_at: string }>(this.#db, this.#sql.likersFirst, [postId, limit + 1])
        : await queryOnce<{ user_id: string; liked_at: string }>(this.#db, this.#sql.likersAfter, [postId, after.likedAt, after.userId, limit + 1]);
    const items = result.rows.slice(0, limit).map((row) => ({ userId: row.user_id, likedAt: Number(row.liked_at) }));
    const last = items.at(-1);
    const nextCursor = result.rows.length > limit && last !== undefined ? encodeCursor(last) : undefined;
    return { items, nextCursor };
  }

  /** One index range scan per partition (the table is partitioned by post), merged by the executor. */
  async likesOf(userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage> {
    const after = cursor === undefined ? undefined : decodeUserLikesCursor(cursor);
    const result =
      after === undefined
        ? await queryOnce<{ post_id: string; liked_at: string }>(this.#db, this.#sql.likesOfFirst, [userId, limit + 1])
        : await queryOnce<{ post_id: string; liked_at: string }>(this.#db, this.#sql.likesOfAfter, [userId, after.likedAt, after.postId, limit + 1]);
    const items = result.rows.slice(0, limit).map((row) => ({ postId: row.post_id, likedAt: Number(row.liked_at) }));
    const last = items.at(-1);
    const nextCursor = result.rows.length > limit && last !== undefined ? encodeUserLikesCursor(last) : undefined;
    return { items, nextCursor };
  }

  /**
   * Exact under concurrent applies: the exclusive locks wait for every apply in flight on these
   * posts to commit and hold back new ones, so the count includes exactly the applies that commit
   * before this transaction, and the recount rows follow those applies in the WAL's commit order.
   */
  async recount(postIds: readonly string[]): Promise<Map<string, number>> {
    const posts = [...new Set(postIds)].sort();
    const counts = new Map<string, number>();
    if (posts.length === 0) return counts;
    await inTransaction(this.#db, async (tx) => {
      await this.#locks.exclusive(tx, posts);
      const counted = await tx.query<{ post_id: string; n: string }>(this.#sql.count, [posts]);
      for (const row of counted.rows) counts.set(row.post_id, Number(row.n));
      const values = posts.map((p) => counts.get(p) ?? 0);
      const added = await tx.query<{ id: string }>(this.#sql.insertRecounts, [posts, values]);
      await tx.query(this.#sql.deleteRecounts, [added.rows.map((row) => row.id)]);
    });
    return counts;
  }

  eraseStep(marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult> {
    return inTransaction(this.#db, (tx) => this.#erasures.step(tx, marker, place, limit));
  }

  erasureAccepted(marker: ErasureMarker, partitionsTotal: number): Promise<void> {
    return this.#erasures.accepted(this.#db, marker, partitionsTotal);
  }

  erasureStatus(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    return this.#erasures.status(this.#db, kind, target);
  }

  async postsAfter(afterPostId: string, limit: number): Promise<string[]> {
    const result = await queryOnce<{ post_id: string }>(this.#db, this.#sql.postsAfter, [afterPostId, limit]);
    return result.rows.map((row) => row.post_id);
  }
}

function columns() {
  return { posts: [] as string[], shards: [] as number[], users: [] as string[], at: [] as number[] };
}

function statements(n: PgNames) {
  return {
    insert: `INSERT INTO ${n.likes} (post_id, shard, user_id, liked_at)
      SELECT * FROM unnest($1::text[], $2::int2[], $3::text[], $4::int8[])
      ON CONFLICT DO NOTHING`,
    // Left to itself the planner hashes the whole table (every partition) to join a few thousand
    // keys; an index probe per key, pruned to its partition at run time, is what scales.
    probeByKey: 'SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off',
    remove: `DELETE FROM ${n.likes} AS l
      USING unnest($1::text[], $2::int2[], $3::text[]) AS d(post_id, shard, user_id)
      WHERE l.post_id = d.post_id AND l.shard = d.shard AND l.user_id = d.user_id`,
    liked: `SELECT post_id FROM ${n.likes} WHERE user_id = $1 AND shard = $2 AND post_id = ANY($3::text[])`,
    likersFirst: `SELECT user_id, liked_at FROM ${n.likes} WHERE post_id = $1
      ORDER BY liked_at DESC, user_id ASC LIMIT $2`,
    likersAfter: `SELECT user_id, liked_at FROM ${n.likes} WHERE post_id = $1
      AND (liked_at < $2 OR (liked_at = $2 AND user_id > $3))
      ORDER BY liked_at DESC, user_id ASC LIMIT $4`,
    likesOfFirst: `SELECT post_id, liked_at FROM ${n.likes} WHERE user_id = $1
      ORDER BY liked_at DESC, post_id ASC LIMIT $2`,
    likesOfAfter: `SELECT post_id, liked_at FROM ${n.likes} WHERE user_id = $1
      AND liked_at <= $2 AND (liked_at < $2 OR post_id > $3)
      ORDER BY liked_at DESC, post_id ASC LIMIT $4`,
    // One index-only count per post (pruned to its partition), never a scan of the whole table
    // while the exclusive locks hold writes back.
    count: `SELECT p AS post_id, (SELECT count(*) FROM ${n.likes} WHERE post_id = p) AS n FROM unnest($1::text[]) AS p`,
    // The insert reaches the change feed through the WAL; deleting the rows in the same transaction
    // keeps the table empty (the capture ignores deletes of recounts).
    insertRecounts: `INSERT INTO ${n.recounts} (post_id, count) SELECT * FROM unnest($1::text[], $2::int8[]) RETURNING id`,
    deleteRecounts: `DELETE FROM ${n.recounts} WHERE id = ANY($1::int8[])`,
    postsAfter: `SELECT DISTINCT post_id FROM ${n.likes} WHERE post_id > $1 ORDER BY post_id LIMIT $2`,
  };
}
