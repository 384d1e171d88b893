import type { CassandraConnection } from '../../../src/adapters/cassandra/cassandra-client.ts';
import { dropCassandraKeyspace, migrateCassandra } from '../../../src/adapters/cassandra/cassandra-schema.ts';
import type { Lifecycle } from '../../../src/ports/lifecycle.ts';
import { TrackedAdapters } from '../../helpers/tracked-adapters.ts';
import { uniqueName } from '../../helpers/wait.ts';

/** The Cassandra that `./tally services up` starts, unless the environment names another. */
export const CONTACT_POINTS = process.env.TALLY_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042';
export const REPLICATION = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

/** A migrated keyspace of its own; `cleanup` closes what was tracked, then drops the keyspace. */
export interface CassandraNamespace {
  readonly namespace: string;
  readonly connection: CassandraConnection;
  track<T extends Lifecycle>(adapter: T): T;
  cleanup(): Promise<void>;
}

export async function freshKeyspace(): Promise<CassandraNamespace> {
  const namespace = uniqueName('t');
  const connection = { contactPoints: CONTACT_POINTS, localDataCenter: 'datacenter1', keyspace: namespace };
  await migrateCassandra({ ...connection, replication: REPLICATION });
  const tracked = new TrackedAdapters();
  return {
    namespace,
    connection,
    track: (adapter) => tracked.track(adapter),
    async cleanup() {
      await tracked.closeAll();
      await dropCassandraKeyspace(connection);
    },
  };
}
