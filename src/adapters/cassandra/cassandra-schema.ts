import type { CassandraConnection, CqlSession } from './cassandra-client.ts';
import { connectCassandra, mapLimit, num, POSITION_TIMESTAMP_BASE, str } from './cassandra-client.ts';

/** Fully qualified table names of a namespace's keyspace. */
export interface CassandraNames {
  readonly keyspace: string;
  /** `((post_id, shard), user_id)`: the likes, plus per partition the last log offset applied and its changes. */
  readonly likes: string;
  /** `((post_id, shard), liked_at DESC, user_id)`: the likers, newest first. */
  readonly likers: string;
  /** `((user_id), liked_at DESC, post_id)`: each user's likes, newest first (the Likes tab). */
  readonly likesByUser: string;
  /** The change log, in ScyllaDB's CDC log shape: `(("cdc$stream_id", bucket), "cdc$time", "cdc$batch_seq_no")`. */
  readonly changes: string;
  readonly ingestPositions: string;
  readonly capturePositions: string;
  readonly captureLease: string;
  readonly counts: string;
  readonly counterPositions: string;
  readonly counterBatches: string;
  /** `((kind, target), accepted_at DESC, erasure_id DESC)`: the erasures of a user or a post, latest first. */
  readonly erasures: string;
  /** `((erasure_id, partition))`: one erasure's part in one log partition (cursor, removed, done, the step in flight). */
  readonly erasureParts: string;
}

export function cassandraNames(namespace: string): CassandraNames {
  const k = namespace;
  return {
    keyspace: k,
    likes: `${k}.likes`,
    likers: `${k}.likers`,
    likesByUser: `${k}.likes_by_user`,
    changes: `${k}.like_changes`,
    ingestPositions: `${k}.ingest_positions`,
    capturePositions: `${k}.capture_positions`,
    captureLease: `${k}.capture_lease`,
    counts: `${k}.counts`,
    counterPositions: `${k}.counter_positions`,
    counterBatches: `${k}.counter_batches`,
    erasures: `${k}.erasures`,
    erasureParts: `${k}.erasure_parts`,
  };
}

/** Change-log rows live a week (the Kafka topics' retention); the relay reads them within seconds. */
const CHANGE_LOG_TTL_S = 7 * 24 * 3600;

/**
 * The comment of a `likes_by_user` table that holds every like: set at creation in a new keyspace,
 * and after the backfill in a keyspace from before the Likes tab.
 */
const BY_USER_COMPLETE = 'Likes tab index: complete';

/** A user's likes; in a new keyspace it is complete from the start. */
function likesByUserStatement(n: CassandraNames, complete: boolean): string {
  return `CREATE TABLE IF NOT EXISTS ${n.likesByUser} (user_id text, liked_at bigint, post_id text,
      PRIMARY KEY ((user_id), liked_at, post_id)) WITH CLUSTERING ORDER BY (liked_at DESC, post_id ASC)${complete ? ` AND comment = '${BY_USER_COMPLETE}'` : ''}`;
}

function tableStatements(n: CassandraNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${n.likes} (post_id text, shard int, user_id text, liked_at bigint,
      applied bigint static, last_changes text static, PRIMARY KEY ((post_id, shard), user_id))`,
    `CREATE TABLE IF NOT EXISTS ${n.likers} (post_id text, shard int, liked_at bigint, user_id text,
      PRIMARY KEY ((post_id, shard), liked_at, user_id)) WITH CLUSTERING ORDER BY (liked_at DESC, user_id ASC)`,
    `CREATE TABLE IF NOT EXISTS ${n.changes} ("cdc$stream_id" int, bucket int, "cdc$time" bigint, "cdc$batch_seq_no" int,
      "cdc$operation" tinyint, post_id text, user_id text, count bigint,
      PRIMARY KEY (("cdc$stream_id", bucket), "cdc$time", "cdc$batch_seq_no")) WITH default_time_to_live = ${CHANGE_LOG_TTL_S}`,
    `CREATE TABLE IF NOT EXISTS ${n.ingestPositions} (partition int PRIMARY KEY, next_offset bigint, recounts int)`,
    `CREATE TABLE IF NOT EXISTS ${n.capturePositions} (stream int PRIMARY KEY, time bigint, seq int)`,
    `CREATE TABLE IF NOT EXISTS ${n.captureLease} (id int PRIMARY KEY, owner text)`,
    `CREATE TABLE IF NOT EXISTS ${n.counts} (post_id text PRIMARY KEY, count bigint, version bigint)`,
    `CREATE TABLE IF NOT EXISTS ${n.counterPositions} (partition int PRIMARY KEY, next_offset bigint, pending text)`,
    `CREATE TABLE IF NOT EXISTS ${n.counterBatches} (id text PRIMARY KEY, body text, state text) WITH default_time_to_live = 86400`,
    `CREATE TABLE IF NOT EXISTS ${n.erasures} (kind text, target text, accepted_at bigint, erasure_id text, partitions_total int, parts text,
      PRIMARY KEY ((kind, target), accepted_at, erasure_id)) WITH CLUSTERING ORDER BY (accepted_at DESC, erasure_id DESC)`,
    `CREATE TABLE IF NOT EXISTS ${n.erasureParts} (erasure_id text, partition int, cursor text, removed bigint, done boolean, step int, pending text,
      PRIMARY KEY ((erasure_id, partition)))`,
  ];
}

export interface CassandraMigration extends CassandraConnection {
  /** A CQL replication map for the keyspace (`--cassandra-replication`). */
  readonly replication: string;
}

/**
 * Creates the namespace's keyspace and tables when missing (a no-op, one read, when they exist).
 * Schema changes on Cassandra 5.0 should not race from several nodes: the first process creates.
 */
export async function migrateCassandra(migration: CassandraMigration): Promise<void> {
  const session = await connectCassandra(migration, `tally-migrate-${migration.keyspace}`);
  try {
    const names = cassandraNames(migration.keyspace);
    const statements = tableStatements(names);
    const existing = await session.execute('SELECT table_name, comment FROM system_schema.tables WHERE keyspace_name = ?', [migration.keyspace]);
    const comments = new Map(existing.rows.map((row) => [str(row.get('table_name')) ?? '', str(row.get('comment')) ?? '']));
    if (comments.size >= statements.length + 1 && comments.get('likes_by_user') === BY_USER_COMPLETE) return;
    await session.execute(`CREATE KEYSPACE IF NOT EXISTS ${migration.keyspace} WITH replication = ${migration.replication}`);
    for (const statement of statements) await session.execute(statement);
    // A keyspace that already has likes gets the Likes tab's table filled from them.
    await session.execute(likesByUserStatement(names, !comments.has('likes')));
    if (comments.has('likes') && comments.get('likes_by_user') !== BY_USER_COMPLETE) {
      await backfillLikesByUser(session, names);
      await session.execute(`ALTER TABLE ${names.likesByUser} WITH comment = '${BY_USER_COMPLETE}'`);
    }
  } finally {
    await session.shutdown();
  }
}

/**
 * Writes a `likes_by_user` row for every like of the `likes` table, while the stages may run: at
 * the lowest write timestamp Tally uses (its position base), so a row that an unlike deletes, or
 * that the live path writes, meanwhile is never resurrected or overwritten. Idempotent; a run
 * interrupted is done again by the next start-up (the table's comment says when it is complete).
 */
async function backfillLikesByUser(session: CqlSession, n: CassandraNames): Promise<void> {
  let pageState: string | undefined;
  do {
    const result = await session.execute(`SELECT post_id, user_id, liked_at FROM ${n.likes}`, [], pageState === undefined ? { fetchSize: 2000 } : { fetchSize: 2000, pageState });
    const likes = result.rows.filter((row) => str(row.get('user_id')) !== undefined);
    await mapLimit(likes, 32, (row) =>
      session.execute(`INSERT INTO ${n.likesByUser} (user_id, liked_at, post_id) VALUES (?, ?, ?) USING TIMESTAMP ?`, [
        str(row.get('user_id')),
        BigInt(num(row.get('liked_at'))),
        str(row.get('post_id')),
        POSITION_TIMESTAMP_BASE,
      ]),
    );
    pageState = result.pageState ?? undefined;
  } while (pageState !== undefined);
}

/** Drops the namespace's keyspace (every table with it). */
export async function dropCassandraKeyspace(connection: CassandraConnection): Promise<void> {
  const session = await connectCassandra(connection, `tally-drop-${connection.keyspace}`);
  try {
    await session.execute(`DROP KEYSPACE IF EXISTS ${connection.keyspace}`);
  } finally {
    await session.shutdown();
  }
}

