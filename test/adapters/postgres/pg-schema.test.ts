import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../../src/adapters/postgres/pg-client.ts';
import { dropPostgresNamespace, migratePostgres, pgNames } from '../../../src/adapters/postgres/pg-schema.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { PG_URL } from './pg-fixture.ts';

test('migration is idempotent and safe when several processes run it at once', async (t) => {
  const namespace = uniqueName('t');
  t.after(() => dropPostgresNamespace({ url: PG_URL, namespace }));
  await Promise.all([1, 2, 3].map(() => migratePostgres({ url: PG_URL, namespace, partitions: 4 })));
  await migratePostgres({ url: PG_URL, namespace, partitions: 16 }); // an existing table keeps its partitions
  const n = pgNames(namespace);
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    const parts = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_inherits WHERE inhparent = $1::regclass', [n.likes]);
    assert.equal(Number(parts.rows[0]?.n), 4);
    const pub = await pool.query<{ pubviaroot: boolean; pubinsert: boolean; pubdelete: boolean; pubupdate: boolean }>(
      'SELECT pubviaroot, pubinsert, pubdelete, pubupdate FROM pg_publication WHERE pubname = $1',
      [n.publication],
    );
    assert.deepEqual(pub.rows, [{ pubviaroot: true, pubinsert: true, pubdelete: true, pubupdate: false }]);
    const tables = await pool.query<{ tablename: string }>('SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY tablename', [n.publication]);
    assert.deepEqual(tables.rows.map((r) => r.tablename), ['likes', 'recounts']);
    const slot = await pool.query<{ plugin: string; slot_type: string }>('SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = $1', [n.slot]);
    assert.deepEqual(slot.rows, [{ plugin: 'pgoutput', slot_type: 'logical' }]);
    // Every partition identifies deleted rows by the primary key (post_id, shard, user_id).
    const identities = await pool.query<{ relreplident: string; haspk: boolean }>(
      `SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS haspk
       FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid WHERE h.inhparent = $1::regclass`,
      [n.likes],
    );
    assert.equal(identities.rows.length, 4);
    for (const row of identities.rows) assert.deepEqual(row, { relreplident: 'd', haspk: true });
  } finally {
    await pool.end();
  }
  await dropPostgresNamespace({ url: PG_URL, namespace });
  const gone = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    const left = await gone.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 UNION ALL SELECT 1 FROM pg_namespace WHERE nspname = $2', [n.slot, namespace]);
    assert.equal(left.rows.length, 0, 'drop removes slot and schema');
  } finally {
    await gone.end();
  }
});

test('a namespace that cannot name PostgreSQL objects is refused', () => {
  assert.throws(() => pgNames('Bad-Name'), { code: 'invalid_option' });
  assert.throws(() => pgNames('x"; DROP'), { code: 'invalid_option' });
});

test('migrating a database from before the Likes tab adds the index by user without losing rows, and repairs an interrupted build', async (t) => {
  const namespace = uniqueName('t');
  t.after(() => dropPostgresNamespace({ url: PG_URL, namespace }));
  await migratePostgres({ url: PG_URL, namespace, partitions: 4 });
  const n = pgNames(namespace);
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  const userIndexes = async (): Promise<{ parentValid: boolean | undefined; partitions: boolean[] }> => {
    const parent = await pool.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass AND c.relname = 'likes_by_user'`,
      [n.likes],
    );
    if (parent.rows.length === 0) return { parentValid: undefined, partitions: [] };
    // The partitions' indexes attached to it.
    const parts = await pool.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_inherits h JOIN pg_index i ON i.indexrelid = h.inhrelid
       WHERE h.inhparent = $1::regclass ORDER BY h.inhrelid`,
      [`${n.schema}.likes_by_user`],
    );
    return { parentValid: parent.rows[0]?.valid, partitions: parts.rows.map((r) => r.valid) };
  };
  try {
    assert.deepEqual(await userIndexes(), { parentValid: true, partitions: [true, true, true, true] }, 'a new namespace has it');
    // A database from before: likes in it, no index by user.
    await pool.query(`DROP INDEX ${n.schema}.likes_by_user`);
    await pool.query(`INSERT INTO ${n.likes} (post_id, shard, user_id, liked_at) SELECT 'p' || i, 0, 'u' || (i % 7), i FROM generate_series(1, 500) AS i`);
    assert.deepEqual(await userIndexes(), { parentValid: undefined, partitions: [] });
    await migratePostgres({ url: PG_URL, namespace });
    assert.deepEqual(await userIndexes(), { parentValid: true, partitions: [true, true, true, true] }, 'built concurrently per partition and attached');
    // A build interrupted half-way: the parent index exists ONLY on the parent, one partition index is invalid.
    await pool.query(`DROP INDEX ${n.schema}.likes_by_user`);
    await pool.query(`CREATE INDEX likes_by_user ON ONLY ${n.likes} (user_id, liked_at DESC, post_id)`);
    await pool.query(`CREATE INDEX likes_p0_by_user ON ${n.schema}.likes_p0 (user_id, liked_at DESC, post_id)`);
    const superuser = await pool.query<{ yes: boolean }>('SELECT rolsuper AS yes FROM pg_roles WHERE rolname = current_user');
    // What a CREATE INDEX CONCURRENTLY killed mid-way leaves behind (only a superuser can fake it).
    if (superuser.rows[0]?.yes === true) await pool.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${n.schema}.likes_p0_by_user'::regclass`);
    assert.equal((await userIndexes()).parentValid, false);
    await migratePostgres({ url: PG_URL, namespace });
    const after = await userIndexes();
    assert.equal(after.parentValid, true);
    assert.deepEqual(after.partitions, [true, true, true, true]);
    const rows = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${n.likes} WHERE user_id = 'u3'`);
    assert.equal(Number(rows.rows[0]?.n), 72);
  } finally {
    await pool.end();
  }
});
