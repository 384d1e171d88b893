/**
 * The embedded database: log, likes store, change feed and counter store in one SQLite file.
 * Each table belongs to one adapter; they share the file so that each adapter's writes are
 * single local transactions.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS log_records (
  partition INTEGER NOT NULL,
  base_offset INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (partition, base_offset)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS log_consumer_positions (
  consumer_group TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, partition)
) WITHOUT ROWID;

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

CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;
