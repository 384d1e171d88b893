import { CassandraChangeCapture } from '../../adapters/cassandra/cassandra-change-capture.ts';
import { CassandraCounterStore } from '../../adapters/cassandra/cassandra-counter-store.ts';
import { CassandraLikesStore } from '../../adapters/cassandra/cassandra-likes-store.ts';
import { CassandraProgressProbe } from '../../adapters/cassandra/cassandra-progress-probe.ts';
import { dropCassandraKeyspace, migrateCassandra } from '../../adapters/cassandra/cassandra-schema.ts';
import type { Options } from '../../config/options.ts';
import { TallyError } from '../../domain/errors.ts';
import type { StoreProfile } from './store-profile.ts';

function connection(options: Options) {
  return { contactPoints: options.cassandraContactPoints, localDataCenter: options.cassandraLocalDc, keyspace: options.namespace };
}

/**
 * `--store cassandra`: likes, change log and counters in one keyspace per namespace. Changes are
 * captured by a change-log table written by ingest (ScyllaDB's CDC log shape) that the `cdc` stage
 * relays into Kafka; see "How it works" in the README for why it is exact.
 */
export function createCassandraStore(options: Options): StoreProfile {
  if (options.hotShards !== 1) {
    // The exactness argument numbers a post's changes by the offsets of ONE log partition (the
    // per-partition applied offsets, the relay's per-post order, the recount's cut); postId#k
    // keys spread a post over several partitions.
    throw new TallyError(
      'invalid_option',
      `--store cassandra needs --hot-shards 1 (TALLY_HOT_SHARDS), got ${options.hotShards}: its change log orders a post's changes by the offsets of one log partition; pass --hot-shards 1 (with the log drained if it held events keyed postId#k)`,
    );
  }
  const cql = connection(options);
  const likes = new CassandraLikesStore({ ...cql, shards: options.likesShards, partitions: options.partitions });
  const counters = new CassandraCounterStore(cql);
  const probe = new CassandraProgressProbe(cql);
  const adapters = [likes, counters, probe];
  return {
    name: 'cassandra',
    likes,
    counters,
    source: probe,
    capture: () => new CassandraChangeCapture(cql),
    async init() {
      await migrateCassandra({ ...cql, replication: options.cassandraReplication });
      for (const adapter of adapters) await adapter.init();
    },
    async close() {
      for (const adapter of [...adapters].reverse()) await adapter.close();
    },
    describe: () => `Cassandra ${options.cassandraContactPoints} (datacenter ${options.cassandraLocalDc}, keyspace ${options.namespace})`,
  };
}

/** Drops the namespace's keyspace. */
export async function dropCassandraStore(options: Options): Promise<void> {
  await dropCassandraKeyspace(connection(options));
}
