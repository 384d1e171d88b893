import type { Change, StreamPosition } from '../../domain/change.ts';
import { collapseToLastPerPair } from '../../domain/collapse.ts';
import { TallyError } from '../../domain/errors.ts';
import { shardOf } from '../../domain/hash.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import type { ErasureKind, ErasureMarker, ErasureStatus } from '../../domain/erasure.ts';
import type { LikedPairsSource, PairsPage } from '../../ports/liked-pairs-source.ts';
import type { ApplyResult, EraseStepResult, LikersPage, LikesStore, LogFence, MarkerPlace, UserLikesPage } from '../../ports/likes-store.ts';
import { SqliteErasures } from './sqlite-erasures.ts';
import { decodeCursor, decodeUserLikesCursor, encodeCursor, encodeUserLikesCursor } from '../../domain/cursor.ts';
import { encodeChanges } from './sqlite-codec.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import { SqlitePositions } from './sqlite-positions.ts';
import { SqliteUserLikes, USER_LIKES_LEVELS, type UserLikesLevelsOptions } from './sqlite-user-likes.ts';

export const CHANGES_TOPIC = 'change_records';

export interface SqliteLikesStoreOptions {
  /** Shards per post (docs/architecture.md, "Hot keys"): the row key is (post, hash(user) mod shards, user). */
  readonly shards: number;
  /** When the Likes tab's recent level merges into the main one (default {@link USER_LIKES_LEVELS}; tests merge often). */
  readonly userLikesLevels?: UserLikesLevelsOptions;
}

/**
 * The embedded likes store. Rows and the change record describing them are written in one
 * transaction: the change feed can never miss or invent a change.
 */
export class SqliteLikesStore implements LikesStore, LikedPairsSource {
  readonly #db: SqliteDatabase;
  readonly #shards: number;
  readonly #levels: UserLikesLevelsOptions;
  #statements: ReturnType<typeof prepare> | undefined;
  #erasures: SqliteErasures | undefined;
  #userLikes: SqliteUserLikes | undefined;

  constructor(db: SqliteDatabase, options: SqliteLikesStoreOptions) {
    this.#db = db;
    this.#shards = options.shards;
    this.#levels = options.userLikesLevels ?? USER_LIKES_LEVELS;
  }

  async init(): Promise<void> {
    this.#statements = prepare(this.#db);
    this.#userLikes = new SqliteUserLikes(this.#db, this.#levels);
    this.#erasures = new SqliteErasures(this.#db, this.#userLikes);
  }

  async close(): Promise<void> {}

  get #s(): ReturnType<typeof prepare> {
    if (this.#statements === undefined) throw new TallyError('not_ready', 'the likes store is not initialised', { retriable: true });
    return this.#statements;
  }

  get #u(): SqliteUserLikes {
    if (this.#userLikes === undefined) throw new TallyError('not_ready', 'the likes store is not initialised', { retriable: true });
    return this.#userLikes;
  }

  get #e(): SqliteErasures {
    if (this.#erasures === undefined) throw new TallyError('not_ready', 'the likes store is not initialised', { retriable: true });
    return this.#erasures;
  }

  async apply(events: readonly LikeEvent[], fence?: LogFence): Promise<ApplyResult> {
    const s = this.#s;
    const userLikes = this.#u;
    const ordered = collapseToLastPerPair(events);
    const changes: Change[] = [];
    const next = this.#db.transaction('crash-safe', () => {
      if (fence !== undefined) s.positions.advance(fence.from, fence.to);
      for (const event of ordered) {
        const shard = shardOf(event.userId, this.#shards);
        if (event.op === 'like') {
          if (s.insert.run(event.postId, shard, event.userId, event.at).changes > 0) {
            changes.push({ kind: 'delta', postId: event.postId, userId: event.userId, delta: 1 });
          }
        } else if (s.remove.run(event.postId, shard, event.userId).changes > 0) {
          changes.push({ kind: 'delta', postId: event.postId, userId: event.userId, delta: -1 });
        }
      }
      userLikes.afterApply(changes.length);
      if (changes.length === 0) {
        // Nothing new for the counter: it has counted this batch once it has applied what exists.
        const last = (s.lastSeq.get() as { seq: number | null }).seq;
        return last === null ? 0 : last + 1;
      }
      const seq = Number(s.insertChange.run(encodeChanges(changes)).lastInsertRowid);
      this.#db.recentChanges.set(String(seq), changes);
      return seq + 1;
    });
    if (changes.length > 0) this.#db.notify(CHANGES_TOPIC);
    const feedPositions: StreamPosition[] = [{ partition: 0, offset: next }];
    return { changed: changes.length, feedPositions };
  }

  async logPositions(): Promise<StreamPosition[]> {
    return this.#s.positions.read();
  }

  async likedPosts(userId: string, postIds: readonly string[]): Promise<Set<string>> {
    const s = this.#s;
    const shard = shardOf(userId, this.#shards);
    const liked = new Set<string>();
    if (postIds.length === 1) {
      const postId = postIds[0] as string;
      if (s.exists.get(postId, shard, userId) !== undefined) liked.add(postId);
      return liked;
    }
    // One statement for the whole list: each statement call costs ~2 µs more than its lookup.
    const rows = s.likedAmong.all(JSON.stringify(postIds), shard, userId) as { post_id: string }[];
    for (const row of rows) liked.add(row.post_id);
    return liked;
  }

  async likers(postId: string, limit: number, cursor: string | undefined): Promise<LikersPage> {
    const s = this.#s;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = (
      after === undefined
        ? s.likersFirst.all(postId, limit + 1)
        : s.likersAfter.all(postId, after.likedAt, after.likedAt, after.userId, limit + 1)
    ) as { user_id: string; liked_at: number }[];
    const items = rows.slice(0, limit).map((row) => ({ userId: row.user_id, likedAt: row.liked_at }));
    const last = items.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(last) : undefined;
    return { items, nextCursor };
  }

  async likesOf(userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage> {
    const rows = this.#u.page(userId, limit + 1, cursor === undefined ? undefined : decodeUserLikesCursor(cursor));
    const items = rows.slice(0, limit).map((row) => ({ postId: row.post_id, likedAt: row.liked_at }));
    const last = items.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? encodeUserLikesCursor(last) : undefined;
    return { items, nextCursor };
  }

  async recount(postIds: readonly string[]): Promise<Map<string, number>> {
    const s = this.#s;
    const counts = new Map<string, number>();
    if (postIds.length === 0) return counts;
    this.#db.transaction('crash-safe', () => {
      const changes: Change[] = [];
      for (const postId of postIds) {
        const count = (s.countRows.get(postId) as { n: number }).n;
        counts.set(postId, count);
        changes.push({ kind: 'recount', postId, count });
      }
      s.insertChange.run(encodeChanges(changes));
    });
    this.#db.notify(CHANGES_TOPIC);
    return counts;
  }

  async eraseStep(marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult> {
    const s = this.#s;
    const result = this.#e.step(
      {
        positions: s.positions,
        recordChanges: (changes) => {
          const seq = Number(s.insertChange.run(encodeChanges(changes)).lastInsertRowid);
          this.#db.recentChanges.set(String(seq), changes);
          return seq + 1;
        },
        feedEnd: () => {
          const last = (s.lastSeq.get() as { seq: number | null }).seq;
          return last === null ? 0 : last + 1;
        },
      },
      marker,
      place,
      limit,
    );
    if (result.changes > 0) this.#db.notify(CHANGES_TOPIC);
    return { removed: result.removed, done: result.done, ...(result.feedPositions === undefined ? {} : { feedPositions: result.feedPositions }) };
  }

  async erasureAccepted(marker: ErasureMarker, partitionsTotal: number): Promise<void> {
    this.#e.accepted(marker, partitionsTotal);
  }

  async erasureStatus(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    return this.#e.status(kind, target);
  }

  async postsAfter(afterPostId: string, limit: number): Promise<string[]> {
    const rows = this.#s.postsAfter.all(afterPostId, limit) as { post_id: string }[];
    return rows.map((row) => row.post_id);
  }

  /** Every (post, user) row in key order, a page at a time (the liked-pairs filter's start). */
  async pairsAfter(after: string | undefined, limit: number): Promise<PairsPage> {
    const [postId, shard, userId] = after === undefined ? ['', -1, ''] : (JSON.parse(after) as [string, number, string]);
    const rows = this.#s.pairsAfter.all(postId, shard, userId, limit) as { post_id: string; shard: number; user_id: string }[];
    const last = rows.at(-1);
    return {
      pairs: rows.map((row) => [row.post_id, row.user_id] as const),
      next: rows.length < limit || last === undefined ? undefined : JSON.stringify([last.post_id, last.shard, last.user_id]),
    };
  }
}

function prepare(db: SqliteDatabase) {
  const conn = db.connection;
  return {
    insert: conn.prepare('INSERT OR IGNORE INTO likes (post_id, shard, user_id, liked_at) VALUES (?, ?, ?, ?)'),
    remove: conn.prepare('DELETE FROM likes WHERE post_id = ? AND shard = ? AND user_id = ?'),
    exists: conn.prepare('SELECT 1 AS x FROM likes WHERE post_id = ? AND shard = ? AND user_id = ?'),
    likedAmong: conn.prepare('SELECT post_id FROM likes WHERE post_id IN (SELECT value FROM json_each(?)) AND shard = ? AND user_id = ?'),
    lastSeq: conn.prepare('SELECT MAX(seq) AS seq FROM change_records'),
    insertChange: conn.prepare('INSERT INTO change_records (payload) VALUES (?)'),
    likersFirst: conn.prepare(
      'SELECT user_id, liked_at FROM likes WHERE post_id = ? ORDER BY liked_at DESC, user_id ASC LIMIT ?',
    ),
    likersAfter: conn.prepare(
      'SELECT user_id, liked_at FROM likes WHERE post_id = ? AND (liked_at < ? OR (liked_at = ? AND user_id > ?)) ORDER BY liked_at DESC, user_id ASC LIMIT ?',
    ),
    countRows: conn.prepare('SELECT COUNT(*) AS n FROM likes WHERE post_id = ?'),
    postsAfter: conn.prepare('SELECT DISTINCT post_id FROM likes WHERE post_id > ? ORDER BY post_id LIMIT ?'),
    pairsAfter: conn.prepare('SELECT post_id, shard, user_id FROM likes WHERE (post_id, shard, user_id) > (?, ?, ?) ORDER BY post_id, shard, user_id LIMIT ?'),
    positions: new SqlitePositions(db, 'ingest_positions', 'likes store (ingest log positions)'),
  };
}
