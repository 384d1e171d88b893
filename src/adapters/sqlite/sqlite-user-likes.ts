import type { SqliteDatabase } from './sqlite-database.ts';

/** One of a user's likes, as the Likes tab and a user erasure read them. */
export interface UserLikeRow {
  readonly post_id: string;
  readonly shard: number;
  readonly liked_at: number;
}

/** Where a read resumes: after (likedAt, postId) in the tab's order (liked_at DESC, post_id ASC). */
export interface UserLikesAfter {
  readonly likedAt: number;
  readonly postId: string;
}

/** When merges run (tests merge after a few rows, in small chunks). */
export interface UserLikesLevelsOptions {
  /** A merge round starts once the recent level holds this many rows and 1/`ratio` of the main level. */
  readonly minRecent: number;
  readonly ratio: number;
  /** Rows a round moves in one ingest transaction at least: 4 per like applied in it, at most 50,000. */
  readonly minChunk: number;
}

export const USER_LIKES_LEVELS: UserLikesLevelsOptions = { minRecent: 200_000, ratio: 16, minChunk: 2_000 };

/** Rows merged per like applied in the same transaction: a round outruns the rows arriving. */
const MERGE_PER_CHANGE = 4;
const MERGE_CHUNK_MAX = 50_000;

/** The key of the user tables, in order: user_id ASC, liked_at DESC, post_id ASC. */
interface Key {
  readonly user_id: string;
  readonly liked_at: number;
  readonly post_id: string;
}

const FIRST_KEY: Key = { user_id: '', liked_at: 0, post_id: '' };
// Rows strictly after ?1..?3 and at most ?4..?6, in key order (the first term bounds the index range).
const AFTER = '(user_id >= ?1 AND (user_id > ?1 OR liked_at < ?2 OR (liked_at = ?2 AND post_id > ?3)))';
const UP_TO = '(user_id <= ?4 AND (user_id < ?4 OR liked_at > ?5 OR (liked_at = ?5 AND post_id <= ?6)))';
const KEY_ORDER = 'ORDER BY user_id, liked_at DESC, post_id';

/**
 * The Likes tab's by-user rows, in two levels (a two-level LSM tree in SQLite tables): triggers on
 * `likes` write every insert and delete to `user_likes_recent`, small enough to stay in the page
 * cache, and merge rounds move it into `user_likes` in key order, a chunk per ingest transaction.
 * A by-user index on `likes` put each like on a random leaf of a tree as large as the table, so
 * once the store outgrew the page cache every like cost a page read and a page written to the
 * WAL; a round writes each leaf of `user_likes` once for the dozens of rows it gets
 * (BENCHMARKS.md, "The Likes tab in two levels"). Reads merge both levels: a recent row, liked
 * (`present` 1) or removed (0), hides the main row with the same key.
 */
export class SqliteUserLikes {
  readonly #db: SqliteDatabase;
  readonly #options: UserLikesLevelsOptions;
  readonly #s: ReturnType<typeof prepare>;
  /** Rows of each level, counted at the first merge decision and kept up to date (an estimate: only the merge needs it). */
  #recentRows: number | undefined;
  #mainRows = 0;
  /** The merge round under way: rows after this key are still to move; undefined between rounds. */
  #cursor: Key | undefined;

  constructor(db: SqliteDatabase, options: UserLikesLevelsOptions = USER_LIKES_LEVELS) {
    this.#db = db;
    this.#options = options;
    this.#s = prepare(db);
  }

  /** A page of the user's likes, newest first, merged from both levels. */
  page(userId: string, limit: number, after: UserLikesAfter | undefined): UserLikeRow[] {
    const s = this.#s;
    return (after === undefined ? s.first.all(userId, limit) : s.after.all(userId, limit, after.likedAt, after.postId)) as unknown as UserLikeRow[];
  }

  /**
   * Inside the ingest transaction that applied `changed` rows: moves the next chunk of a merge
   * round into the main level, starting a round once the recent level has grown enough.
   */
  afterApply(changed: number): void {
    const s = this.#s;
    if (this.#recentRows === undefined) {
      // Counted now, inside the transaction: the count already holds this batch's rows.
      this.#recentRows = (s.countRecent.get() as { n: number }).n;
      this.#mainRows = (s.countMain.get() as { n: number }).n;
    } else this.#recentRows += changed;
    if (this.#cursor === undefined) {
      if (this.#recentRows < Math.max(this.#options.minRecent, this.#mainRows / this.#options.ratio)) return;
      this.#cursor = FIRST_KEY;
    }
    const chunk = Math.min(MERGE_CHUNK_MAX, Math.max(this.#options.minChunk, changed * MERGE_PER_CHANGE));
    const from = this.#cursor;
    const last = s.chunkEnd.get(from.user_id, from.liked_at, from.post_id, chunk - 1) as Key | undefined;
    // Past the last chunk, the round takes the rest.
    const to = last ?? (s.lastKey.get() as Key | undefined);
    if (to === undefined || !after(to, from)) {
      this.#cursor = undefined;
      return;
    }
    const bounds = [from.user_id, from.liked_at, from.post_id, to.user_id, to.liked_at, to.post_id] as const;
    const added = Number(s.mergeLiked.run(...bounds).changes);
    const removed = Number(s.mergeRemoved.run(...bounds).changes);
    const moved = Number(s.dropMerged.run(...bounds).changes);
    this.#mainRows += added - removed;
    this.#recentRows = Math.max(0, this.#recentRows - moved);
    this.#cursor = last === undefined ? undefined : to;
  }

  /** Everything into the main level, now (for tests and maintenance). */
  mergeAll(): void {
    this.#db.transaction('crash-safe', () => {
      this.#cursor = FIRST_KEY;
      while (this.#cursor !== undefined) this.afterApply(MERGE_CHUNK_MAX);
    });
  }

  /** Rows in each level (for tests and the benchmark). */
  levels(): { recent: number; main: number } {
    return { recent: (this.#s.countRecent.get() as { n: number }).n, main: (this.#s.countMain.get() as { n: number }).n };
  }
}

/** Whether `a` comes after `b` in key order. */
function after(a: Key, b: Key): boolean {
  if (a.user_id !== b.user_id) return a.user_id > b.user_id;
  if (a.liked_at !== b.liked_at) return a.liked_at < b.liked_at;
  return a.post_id > b.post_id;
}

function prepare(db: SqliteDatabase) {
  const conn = db.connection;
  // Both levels for one user, merged in the tab's order; SQLite merges the two index-ordered sides
  // (a compound SELECT with ORDER BY) and stops at the limit.
  const side = (extra: string): string =>
    `SELECT post_id, shard, liked_at FROM user_likes m WHERE user_id = ?1${extra}
       AND NOT EXISTS (SELECT 1 FROM user_likes_recent r WHERE r.user_id = ?1 AND r.liked_at = m.liked_at AND r.post_id = m.post_id)
     UNION ALL
     SELECT post_id, shard, liked_at FROM user_likes_recent WHERE user_id = ?1 AND present = 1${extra}
     ORDER BY liked_at DESC, post_id ASC LIMIT ?2`;
  return {
    first: conn.prepare(side('')),
    // The bound on liked_at alone lets each side seek to the cursor instead of filtering from the newest.
    after: conn.prepare(side(' AND liked_at <= ?3 AND (liked_at < ?3 OR post_id > ?4)')),
    countRecent: conn.prepare('SELECT COUNT(*) AS n FROM user_likes_recent'),
    countMain: conn.prepare('SELECT COUNT(*) AS n FROM user_likes'),
    chunkEnd: conn.prepare(`SELECT user_id, liked_at, post_id FROM user_likes_recent WHERE ${AFTER} ${KEY_ORDER} LIMIT 1 OFFSET ?4`),
    lastKey: conn.prepare('SELECT user_id, liked_at, post_id FROM user_likes_recent ORDER BY user_id DESC, liked_at ASC, post_id DESC LIMIT 1'),
    mergeLiked: conn.prepare(
      `INSERT OR REPLACE INTO user_likes (user_id, liked_at, post_id, shard) SELECT user_id, liked_at, post_id, shard FROM user_likes_recent WHERE ${AFTER} AND ${UP_TO} AND present = 1 ${KEY_ORDER}`,
    ),
    mergeRemoved: conn.prepare(
      `DELETE FROM user_likes WHERE (user_id, liked_at, post_id) IN (SELECT user_id, liked_at, post_id FROM user_likes_recent WHERE ${AFTER} AND ${UP_TO} AND present = 0)`,
    ),
    dropMerged: conn.prepare(`DELETE FROM user_likes_recent WHERE ${AFTER} AND ${UP_TO}`),
  };
}
