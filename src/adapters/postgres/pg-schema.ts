import { setTimeout as sleep } from 'node:timers/promises';
import { fnv1a } from '../../domain/hash.ts';
import { checkNamespace, createPool, quoteIdent, type PgQueryable } from './pg-client.ts';

/** Hash partitions of the likes table when the migration creates it. */
export const DEFAULT_LIKES_PARTITIONS = 8;

/** Advisory lock class of migrations (the other key is the namespace hash), so two processes migrate one at a time. */
const MIGRATION_LOCK_CLASS = 0x7a11_0001;

/** The names of one namespace's PostgreSQL objects: SQL-ready (quoted, schema-qualified) where they go into SQL text. */
export interface PgNames {
  readonly namespace: string;
  readonly schema: string;
  readonly likes: string;
  readonly recounts: string;
  readonly counts: string;
  readonly counterPositions: string;
  readonly ingestPositions: string;
  readonly erasures: string;
  readonly erasureParts: string;
  /** Plain names, as pg catalogs and replication commands want them. */
  readonly publication: string;
  readonly slot: string;
}

export function pgNames(namespace: string): PgNames {
  const schema = quoteIdent(checkNamespace(namespace));
  return {
    namespace,
    schema,
    likes: `${schema}.likes`,
    recounts: `${schema}.recounts`,
    counts: `${schema}.counts`,
    counterPositions: `${schema}.counter_positions`,
    ingestPositions: `${schema}.ingest_positions`,
    erasures: `${schema}.erasures`,
    erasureParts: `${schema}.erasure_parts`,
    publication: `${namespace}_changes`,
    slot: `${namespace}_changes`,
  };
}

export interface MigrateOptions {
  readonly url: string;
  readonly namespace: string;
  /** Hash partitions of the likes table (by post id), used only when the table is created. */
  readonly partitions?: number;
}

/**
 * Creates what is missing of a namespace: the schema, its tables, the publication of the likes and
 * recounts tables, and the logical replication slot the cdc stage reads. Idempotent; concurrent
 * runs wait for each other on an advisory lock. Run it before the first write: the slot only
 * captures changes made after it exists.
 */
export async function migratePostgres(options: MigrateOptions): Promise<void> {
  const names = pgNames(options.namespace);
  const partitions = options.partitions ?? DEFAULT_LIKES_PARTITIONS;
  const pool = createPool({ url: options.url, max: 1, applicationName: `tally-migrate-${options.namespace}` });
  try {
    const conn = await pool.connect();
    try {
      // A session lock, not a transaction: the slot cannot be created in a transaction that wrote.
      await conn.query('SELECT pg_advisory_lock($1, $2)', [MIGRATION_LOCK_CLASS, fnv1a(options.namespace) | 0]);
      try {
        await createTables(conn, names, partitions);
        await createPublication(conn, names);
        await createSlot(conn, names);
      } finally {
        await conn.query('SELECT pg_advisory_unlock($1, $2)', [MIGRATION_LOCK_CLASS, fnv1a(options.namespace) | 0]);
      }
      conn.release();
    } catch (error) {
      conn.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  } finally {
    await pool.end();
  }
}

async function createTables(db: PgQueryable, n: PgNames, partitions: number): Promise<void> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${n.schema}`);
  // One row per (post, user); the key carries the user's shard (docs/architecture.md, "Hot keys"). liked_at is
  // milliseconds since the epoch, exactly what the API returns. Default replica identity (the
  // primary key) puts the whole key into the WAL of a delete, which is all the change feed needs.
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.likes} (
    post_id text COLLATE "C" NOT NULL,
    shard smallint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    liked_at bigint NOT NULL,
    PRIMARY KEY (post_id, shard, user_id)
  ) PARTITION BY HASH (post_id)`);
  const existing = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_inherits WHERE inhparent = $1::regclass`,
    [n.likes],
  );
  if (Number(existing.rows[0]?.n ?? 0) === 0) {
    for (let i = 0; i < partitions; i++) {
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${n.schema}.likes_p${i} PARTITION OF ${n.likes} FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i})`,
      );
    }
  }
  // Serves the likers list, newest first, and its cursor (liked_at, user_id).
  await db.query(`CREATE INDEX IF NOT EXISTS likes_newest_first ON ${n.likes} (post_id, liked_at DESC, user_id)`);
  await createUserIndex(db, n);
  // A recount is an insert here, in the transaction that counted: it reaches the change feed at
  // the exact place of the count in commit order. Rows are deleted in the same transaction (the
  // WAL carries the insert); the table itself stays empty.
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.recounts} (
    id bigserial PRIMARY KEY,
    post_id text COLLATE "C" NOT NULL,
    count bigint NOT NULL,
    recounted_at timestamptz NOT NULL DEFAULT now()
  )`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.counts} (
    post_id text COLLATE "C" PRIMARY KEY,
    count bigint NOT NULL,
    version bigint NOT NULL
  )`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.counterPositions} (
    partition integer PRIMARY KEY,
    next_offset bigint NOT NULL
  )`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.ingestPositions} (
    partition integer PRIMARY KEY,
    next_offset bigint NOT NULL
  )`);
  // Erasures (DELETE /v1/users/{id}/likes, /v1/posts/{id}/likes): one row per request, and one
  // per (request, log partition) changed in the transaction of each bounded batch of deletes.
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.erasures} (
    erasure_id text COLLATE "C" PRIMARY KEY,
    kind text NOT NULL,
    target text COLLATE "C" NOT NULL,
    accepted_at bigint NOT NULL,
    partitions_total integer NOT NULL
  )`);
  await db.query(`CREATE INDEX IF NOT EXISTS erasures_by_target ON ${n.erasures} (kind, target, accepted_at)`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.erasureParts} (
    erasure_id text COLLATE "C" NOT NULL,
    partition integer NOT NULL,
    cursor text NOT NULL,
    removed bigint NOT NULL,
    done boolean NOT NULL,
    PRIMARY KEY (erasure_id, partition)
  )`);
}

/** The Likes tab's index: a user's likes, newest first, ties by post id. */
const USER_INDEX = 'likes_by_user';
const USER_INDEX_COLUMNS = '(user_id, liked_at DESC, post_id)';

/**
 * Creates the Likes tab's index. On an empty table (a new namespace) one plain statement; on a
 * table that already holds likes (a database from before this index) without blocking writes:
 * the parent's index is created ONLY on the parent (invalid, instant), each partition's index
 * CONCURRENTLY, and attaching the last one makes the parent's valid. An interrupted run leaves an
 * invalid partition index behind; the next run drops and rebuilds it.
 */
async function createUserIndex(db: PgQueryable, n: PgNames): Promise<void> {
  const parent = await db.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = $1::regclass AND c.relname = $2`,
    [n.likes, USER_INDEX],
  );
  if (parent.rows[0]?.valid === true) return;
  if (parent.rows.length === 0) {
    const rows = await db.query(`SELECT 1 FROM ${n.likes} LIMIT 1`);
    if (rows.rows.length === 0) {
      await db.query(`CREATE INDEX IF NOT EXISTS ${USER_INDEX} ON ${n.likes} ${USER_INDEX_COLUMNS}`);
      return;
    }
    await db.query(`CREATE INDEX IF NOT EXISTS ${USER_INDEX} ON ONLY ${n.likes} ${USER_INDEX_COLUMNS}`);
  }
  const partitions = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid WHERE h.inhparent = $1::regclass ORDER BY c.relname`,
    [n.likes],
  );
  for (const { name } of partitions.rows) {
    const table = `${n.schema}.${quoteIdent(name)}`;
    const index = `${name}_by_user`;
    const found = await db.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass AND c.relname = $2`,
      [table, index],
    );
    if (found.rows[0]?.valid === false) await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${n.schema}.${quoteIdent(index)}`);
    if (found.rows[0]?.valid !== true) await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(index)} ON ${table} ${USER_INDEX_COLUMNS}`);
    await db.query(`ALTER INDEX ${n.schema}.${USER_INDEX} ATTACH PARTITION ${n.schema}.${quoteIdent(index)}`);
  }
}

async function createPublication(db: PgQueryable, n: PgNames): Promise<void> {
  const found = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [n.publication]);
  if (found.rows.length > 0) return;
  // Changes of the hash partitions come out under the root table's name.
  await db.query(
    `CREATE PUBLICATION ${quoteIdent(n.publication)} FOR TABLE ${n.likes}, ${n.recounts} WITH (publish = 'insert, delete', publish_via_partition_root = true)`,
  );
}

async function createSlot(db: PgQueryable, n: PgNames): Promise<void> {
  const found = await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [n.slot]);
  if (found.rows.length > 0) return;
  await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [n.slot]);
}

/**
 * Removes a namespace from PostgreSQL: its replication slot (ending the walsender that holds it),
 * publication and schema. For tests and for decommissioning a tenant; the data is gone.
 */
export async function dropPostgresNamespace(options: { url: string; namespace: string }): Promise<void> {
  const n = pgNames(options.namespace);
  const pool = createPool({ url: options.url, max: 1, applicationName: `tally-drop-${options.namespace}` });
  try {
    for (let attempt = 0; ; attempt++) {
      const slot = await pool.query<{ active_pid: number | null }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [n.slot]);
      const row = slot.rows[0];
      if (row === undefined) break;
      try {
        if (row.active_pid !== null) await pool.query('SELECT pg_terminate_backend($1)', [row.active_pid]);
        await pool.query('SELECT pg_drop_replication_slot($1)', [n.slot]);
        break;
      } catch (error) {
        // The walsender needs a moment to exit after its client went away.
        if (attempt >= 50) throw error;
        await sleep(100);
      }
    }
    await pool.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(n.publication)}`);
    await pool.query(`DROP SCHEMA IF EXISTS ${n.schema} CASCADE`);
  } finally {
    await pool.end();
  }
}
