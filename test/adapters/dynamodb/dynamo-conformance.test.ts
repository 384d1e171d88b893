import { KafkaChangeFeed } from '../../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import { deleteTopics, namespaceTopics } from '../../../src/adapters/kafka/kafka-topics.ts';
import { DynamoCounterStore } from '../../../src/adapters/dynamodb/dynamo-counter-store.ts';
import { DynamoLikesStore } from '../../../src/adapters/dynamodb/dynamo-likes-store.ts';
import { createDynamoCapture } from '../../../src/composition/stores/dynamodb-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { CdcStep } from '../../../src/stages/cdc/cdc-stage.ts';
import { LoopStage } from '../../../src/stages/loop-stage.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';
import { BROKERS, TEST_TIMINGS } from '../kafka/kafka-test-kit.ts';
import { freshDynamoNamespace } from './dynamo-fixture.ts';

// The distributed change feed end to end: DynamoDB items → DynamoDB Streams → cdc relay → Kafka
// changes topic → the feed's reader. Against moto_server (./tally services up dynamodb), not AWS.
const makeLikesStore = async (): Promise<LikesStoreFixture> => {
  const ns = await freshDynamoNamespace();
  const namespace = ns.namespace;
  const likes = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 8 }));
  await likes.init();
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions: 4, groupTimings: TEST_TIMINGS });
  await feed.init();
  const log = createLogger(process.env.TEST_LOG === undefined ? 'warn' : 'debug');
  const relay = new CdcStep(
    {
      capture: createDynamoCapture(ns.settings, log, likes),
      publisher: new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: 4 }),
      metrics: new Metrics({ defaultMetrics: false }),
      log,
    },
    { maxChanges: 5000, idleMs: 20 },
  );
  const stage = new LoopStage('cdc', relay, log, new Metrics({ defaultMetrics: false }));
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

likesStoreConformance('dynamodb + streams cdc relay + kafka', makeLikesStore);
likesStoreErasureConformance('dynamodb + streams cdc relay + kafka', makeLikesStore, { supported: false });

counterStoreConformance('dynamodb', async () => {
  const ns = await freshDynamoNamespace();
  const counters = ns.track(new DynamoCounterStore(ns.settings));
  await counters.init();
  return { counters, cleanup: () => ns.cleanup() };
});
