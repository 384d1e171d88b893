import assert from 'node:assert/strict';
import { CassandraChangeCapture } from '../../../src/adapters/cassandra/cassandra-change-capture.ts';
import { readLog } from '../../../src/adapters/cassandra/cassandra-change-log.ts';
import { connectCassandra } from '../../../src/adapters/cassandra/cassandra-client.ts';
import { CassandraCounterStore } from '../../../src/adapters/cassandra/cassandra-counter-store.ts';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { CassandraProgressProbe } from '../../../src/adapters/cassandra/cassandra-progress-probe.ts';
import { cassandraNames } from '../../../src/adapters/cassandra/cassandra-schema.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import { changeCaptureConformance } from '../../conformance/change-capture.conformance.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { ingestFenceConformance } from '../../conformance/ingest-fence.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';
import { sourceProgressConformance } from '../../conformance/progress-probes.conformance.ts';
import { relayedThroughKafka } from '../../helpers/cdc-relay.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

const PARTITIONS = 4;

// The distributed change feed end to end: Cassandra likes → change-log table → cdc relay → Kafka
// changes topic → the feed's reader.
const makeLikesStore = async (): Promise<LikesStoreFixture> => {
  const ks = await freshKeyspace();
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  await likes.init();
  return relayedThroughKafka({ namespace: ks.namespace, likes, capture: new CassandraChangeCapture(ks.connection), partitions: PARTITIONS, cleanup: () => ks.cleanup() });
};

likesStoreConformance('cassandra + change-log relay + kafka', makeLikesStore);
likesStoreErasureConformance('cassandra + change-log relay + kafka', makeLikesStore);

changeCaptureConformance('cassandra change log', async () => {
  const ks = await freshKeyspace();
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  await likes.init();
  return { likes, capture: () => ks.track(new CassandraChangeCapture(ks.connection)), cleanup: () => ks.cleanup() };
});

sourceProgressConformance('cassandra change log', async () => {
  const ks = await freshKeyspace();
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  const source = ks.track(new CassandraProgressProbe(ks.connection));
  await likes.init();
  await source.init();
  return { likes, source, capture: () => ks.track(new CassandraChangeCapture(ks.connection)), cleanup: () => ks.cleanup() };
});

// The hardest form of the zombie ingest: the stale one passes the fence check, stalls, and writes
// only after the new owner applied newer events. The lightweight transactions on the likes
// partitions refuse it, and the change log holds exactly the two real changes, once each.
ingestFenceConformance('cassandra (stalled after the fence check)', async () => {
  const ks = await freshKeyspace();
  const partitions = 2; // the suite's log
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 4, partitions }));
  await likes.init();
  return {
    likes,
    stalled: async (stall) => {
      const store = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 4, partitions, afterFenceCheck: stall }));
      await store.init();
      return store;
    },
    verify: async (postId) => {
      const session = await connectCassandra(ks.connection, 'test');
      try {
        const entries = await readLog(session, cassandraNames(ks.namespace), partitionOf(postId, partitions), { time: 0, seq: 0 }, { time: 1_000_000, seq: 0 }, 100);
        assert.deepEqual(
          entries.map((e) => (e.change.kind === 'delta' ? e.change.delta : 'recount')),
          [1, -1],
        );
      } finally {
        await session.shutdown();
      }
    },
    cleanup: () => ks.cleanup(),
  };
});

counterStoreConformance('cassandra', async () => {
  const ks = await freshKeyspace();
  const counters = ks.track(new CassandraCounterStore(ks.connection));
  await counters.init();
  return { counters, cleanup: () => ks.cleanup() };
});
