import cassandra from 'cassandra-driver';
import { CONTACT_POINTS } from '../adapters/cassandra/cassandra-fixture.ts';
import type { StoreInspector } from './fault-cluster.ts';

/** The Cassandra profile's likes and counts tables, read with the driver and plain CQL (not Tally's adapters). */
export const cassandraTables: StoreInspector = {
  pairs: (ns) =>
    cql(`SELECT post_id, user_id FROM ${ns}.likes`, (rows) => new Set(rows.filter((r) => r.get('user_id') !== null).map((r) => `${String(r.get('post_id'))}/${String(r.get('user_id'))}`))),
  counts: (ns) => cql(`SELECT post_id, count FROM ${ns}.counts`, (rows) => new Map(rows.map((r) => [String(r.get('post_id')), Number(r.get('count'))]))),
};

async function cql<T>(query: string, shape: (rows: cassandra.types.Row[]) => T): Promise<T> {
  const client = new cassandra.Client({ contactPoints: CONTACT_POINTS.split(','), localDataCenter: 'datacenter1' });
  await client.connect();
  try {
    const rows: cassandra.types.Row[] = [];
    let pageState: string | undefined;
    do {
      const page = await client.execute(query, [], { prepare: true, fetchSize: 5000, ...(pageState === undefined ? {} : { pageState }) });
      rows.push(...page.rows);
      pageState = page.pageState ?? undefined;
    } while (pageState !== undefined);
    return shape(rows);
  } finally {
    await client.shutdown();
  }
}
