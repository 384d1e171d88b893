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

-- The Likes tab: a user's likes, newest first (ties by post id).
CREATE INDEX IF NOT EXISTS likes_by_user ON likes (user_id, liked_at DESC, post_id);

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
export function schemaSql(roles: readonly SqliteFileRole[]): string {
  return [roles.includes('log') ? LOG_SQL : '', roles.includes('store') ? STORE_SQL : ''].join('\n');
}
