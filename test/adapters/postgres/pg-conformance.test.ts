import { KafkaChangeFeed } from '../../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import { deleteTopics, namespaceTopics } from '../../../src/adapters/kafka/kafka-topics.ts';
import { PgChangeCapture } from '../../../src/adapters/postgres/pg-change-capture.ts';
import { PgCounterStore } from '../../../src/adapters/postgres/pg-counter-store.ts';
import { PgLikesStore } from '../../../src/adapters/postgres/pg-likes-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { CdcStep } from '../../../src/stages/cdc/cdc-stage.ts';
import { LoopStage } from '../../../src/stages/loop-stage.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';
import { BROKERS, TEST_TIMINGS } from '../kafka/kafka-test-kit.ts';
import { freshNamespace, PG_URL } from './pg-fixture.ts';

// The distributed change feed end to end: PostgreSQL rows → logical replication → cdc relay →
// Kafka changes topic → the feed's reader.
const makeLikesStore = async (): Promise<LikesStoreFixture> => {
  const ns = await freshNamespace();
  const namespace = ns.namespace; // the PostgreSQL schema and the Kafka topics
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace, shards: 8 }));
  await likes.init();
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions: 4, groupTimings: TEST_TIMINGS });
  await feed.init();
  const relay = new CdcStep(
    {
      capture: new PgChangeCapture({ url: PG_URL, namespace }),
      publisher: new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: 4 }),
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
      await ns.cleanup();
      await deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace));
    },
  };
};

likesStoreConformance('postgres + cdc relay + kafka', makeLikesStore);
likesStoreErasureConformance('postgres + cdc relay + kafka', makeLikesStore);

counterStoreConformance('postgres', async () => {
  const ns = await freshNamespace();
  const counters = ns.track(new PgCounterStore({ url: PG_URL, namespace: ns.namespace }));
  await counters.init();
  return { counters, cleanup: () => ns.cleanup() };
});
