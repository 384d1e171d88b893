import type { DatabaseSync } from 'node:sqlite';

/**
 * The embedded database, in two SQLite files: the log in `log.db`, so the api's fsynced appends
 * never wait on the stages' write lock, and the likes store, change feed and counter store in
 * `tally.db`, sharing one file so that each batch (rows + change records + positions) is one
 * local transaction. Each file gets only its own tables.
 */
export type SqliteFileRole = 'log' | 'store';

const LOG_SQL = `
CREATE TABLE IF NOT EXISTS log_records (
  partition INTEGER NOT NULL,
  base_offset INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (partition, base_offset)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS log_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS log_consumer_positions (
  consumer_group TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, partition)
) WITHOUT ROWID;

`;

const STORE_SQL = `
CREATE TABLE IF NOT EXISTS likes (
  post_id TEXT NOT NULL,
  shard INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  liked_at INTEGER NOT NULL,
  PRIMARY KEY (post_id, shard, user_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ingest_positions (
  partition INTEGER PRIMARY KEY,
  next_offset INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS likes_newest_first ON likes (post_id, liked_at DESC, user_id);

-- The Likes tab: a user's likes, newest first (ties by post id), in two levels (sqlite-user-likes.ts):
-- triggers write each insert and delete of a like to the small recent level, merges move it to the main one.
CREATE TABLE IF NOT EXISTS user_likes (
  user_id TEXT NOT NULL,
  liked_at INTEGER NOT NULL,
  post_id TEXT NOT NULL,
  shard INTEGER NOT NULL,
  PRIMARY KEY (user_id, liked_at DESC, post_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS user_likes_recent (
  user_id TEXT NOT NULL,
  liked_at INTEGER NOT NULL,
  post_id TEXT NOT NULL,
  shard INTEGER NOT NULL,
  present INTEGER NOT NULL,
  PRIMARY KEY (user_id, liked_at DESC, post_id)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS likes_to_recent_insert AFTER INSERT ON likes BEGIN
  INSERT OR REPLACE INTO user_likes_recent (user_id, liked_at, post_id, shard, present) VALUES (NEW.user_id, NEW.liked_at, NEW.post_id, NEW.shard, 1);
END;

CREATE TRIGGER IF NOT EXISTS likes_to_recent_delete AFTER DELETE ON likes BEGIN
  INSERT OR REPLACE INTO user_likes_recent (user_id, liked_at, post_id, shard, present) VALUES (OLD.user_id, OLD.liked_at, OLD.post_id, OLD.shard, 0);
END;

CREATE TABLE IF NOT EXISTS erasures (
  erasure_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  partitions_total INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS erasures_by_target ON erasures (kind, target, accepted_at);

CREATE TABLE IF NOT EXISTS erasure_parts (
  erasure_id TEXT NOT NULL,
  partition INTEGER NOT NULL,
  cursor TEXT NOT NULL,
  removed INTEGER NOT NULL,
  done INTEGER NOT NULL,
  PRIMARY KEY (erasure_id, partition)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS change_records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  payload TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS counts (
  post_id TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS counter_positions (
  partition INTEGER PRIMARY KEY,
  next_offset INTEGER NOT NULL
);
`;

/** The tables of a file holding these roles. */
function schemaSql(roles: readonly SqliteFileRole[]): string {
  return [roles.includes('log') ? LOG_SQL : '', roles.includes('store') ? STORE_SQL : ''].join('\n');
}

/**
 * Brings the tables of `roles` into `conn`; run it in a transaction (SqliteDatabase does). A store
 * file from before the two-level Likes tab (its `likes_by_user` index, or no by-user rows at all)
 * gets its likes copied into `user_likes` and the index dropped, once: the first connection to
 * open it does it.
 */
export function applySchema(conn: DatabaseSync, roles: readonly SqliteFileRole[]): void {
  const store = roles.includes('store');
  const hadUserLikes = store && conn.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'user_likes'").get() !== undefined;
  conn.exec(schemaSql(roles));
  if (store && !hadUserLikes) {
    conn.exec('INSERT OR IGNORE INTO user_likes (user_id, liked_at, post_id, shard) SELECT user_id, liked_at, post_id, shard FROM likes ORDER BY user_id, liked_at DESC, post_id');
    conn.exec('DROP INDEX IF EXISTS likes_by_user');
  }
}
