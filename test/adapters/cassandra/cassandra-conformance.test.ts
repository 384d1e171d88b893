import { CassandraChangeCapture } from '../../../src/adapters/cassandra/cassandra-change-capture.ts';
import { CassandraCounterStore } from '../../../src/adapters/cassandra/cassandra-counter-store.ts';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { KafkaChangeFeed } from '../../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import { deleteTopics, namespaceTopics } from '../../../src/adapters/kafka/kafka-topics.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { CdcStep } from '../../../src/stages/cdc/cdc-stage.ts';
import { LoopStage } from '../../../src/stages/loop-stage.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';
import { BROKERS, TEST_TIMINGS } from '../kafka/kafka-test-kit.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

const PARTITIONS = 4;

// The distributed change feed end to end: Cassandra likes → change-log table → cdc relay → Kafka
// changes topic → the feed's reader.
const makeLikesStore = async (): Promise<LikesStoreFixture> => {
  const ks = await freshKeyspace();
  const namespace = ks.namespace;
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  await likes.init();
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions: PARTITIONS, groupTimings: TEST_TIMINGS });
  await feed.init();
  const relay = new CdcStep(
    {
      capture: new CassandraChangeCapture(ks.connection),
      publisher: new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: PARTITIONS }),
      metrics: new Metrics({ defaultMetrics: false }),
      log: createLogger('silent'),
    },
    { maxChanges: 5000, idleMs: 20 },
  );
  const stage = new LoopStage('cdc', relay, createLogger('warn'), new Metrics({ defaultMetrics: false }));
  await stage.start();
  return {
    likes,
    feed,
    cleanup: async () => {
      await stage.stop();
      await feed.close();
      await ks.cleanup();
      await deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace));
    },
  };
};

likesStoreConformance('cassandra + change-log relay + kafka', makeLikesStore);
likesStoreErasureConformance('cassandra + change-log relay + kafka', makeLikesStore, { supported: false });

counterStoreConformance('cassandra', async () => {
  const ks = await freshKeyspace();
  const counters = ks.track(new CassandraCounterStore(ks.connection));
  await counters.init();
  return { counters, cleanup: () => ks.cleanup() };
});
