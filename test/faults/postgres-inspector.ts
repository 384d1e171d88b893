import pg from 'pg';
import { SERVERS } from '../helpers/distributed-namespace.ts';
import type { StoreInspector } from './fault-cluster.ts';

/** The PostgreSQL profile's likes and counts tables, read with plain SQL (not Tally's adapters). */
export const postgresTables: StoreInspector = {
  pairs: (ns) => query(`SELECT post_id, user_id FROM ${ns}.likes`, (rows: { post_id: string; user_id: string }[]) => new Set(rows.map((r) => `${r.post_id}/${r.user_id}`))),
  counts: (ns) => query(`SELECT post_id, count FROM ${ns}.counts`, (rows: { post_id: string; count: string }[]) => new Map(rows.map((r) => [r.post_id, Number(r.count)]))),
};

async function query<R extends pg.QueryResultRow, T>(sql: string, shape: (rows: R[]) => T): Promise<T> {
  const db = new pg.Client({ connectionString: SERVERS.postgresUrl });
  await db.connect();
  try {
    return shape((await db.query<R>(sql)).rows);
  } finally {
    await db.end();
  }
}
