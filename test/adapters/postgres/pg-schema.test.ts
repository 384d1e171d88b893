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
