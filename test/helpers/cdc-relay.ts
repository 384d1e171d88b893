import { KafkaChangeFeed } from '../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../src/adapters/kafka/kafka-change-publisher.ts';
import { deleteTopics, namespaceTopics } from '../../src/adapters/kafka/kafka-topics.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import type { ChangeCapture } from '../../src/ports/change-capture.ts';
import type { LikesStore } from '../../src/ports/likes-store.ts';
import { CdcStep } from '../../src/stages/cdc/cdc-stage.ts';
import { LoopStage } from '../../src/stages/loop-stage.ts';
import { BROKERS, TEST_TIMINGS } from '../adapters/kafka/kafka-test-kit.ts';
import type { LikesStoreFixture } from '../conformance/likes-store.conformance.ts';

/** The log of test fixtures: warnings, or everything with TEST_LOG set. */
export const fixtureLog: Logger = createLogger(process.env.TEST_LOG === undefined ? 'warn' : 'debug');

export interface RelayedStore {
  /** Names the Kafka topics too (deleted at cleanup). */
  readonly namespace: string;
  /** An initialised likes store. */
  readonly likes: LikesStore;
  /** The capture of its changes; the relay opens and closes it. */
  readonly capture: ChangeCapture;
  readonly partitions: number;
  /** Drops the store (after the relay stopped). */
  readonly cleanup: () => Promise<void>;
}

/**
 * A likes store whose changes reach a Kafka change feed the way they do in distributed mode: its
 * capture → a running `cdc` stage (CdcStep in a LoopStage) → KafkaChangePublisher → the feed's
 * topic. `cleanup` stops the relay, closes the feed, drops the store and deletes the topics.
 */
export async function relayedThroughKafka(store: RelayedStore): Promise<LikesStoreFixture> {
  const { namespace, partitions } = store;
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions, groupTimings: TEST_TIMINGS });
  await feed.init();
  const metrics = new Metrics({ defaultMetrics: false });
  const relay = new CdcStep(
    { capture: store.capture, publisher: new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions }), metrics, log: fixtureLog },
    { maxChanges: 5000, idleMs: 20 },
  );
  const stage = new LoopStage('cdc', relay, fixtureLog, metrics);
  await stage.start();
  return {
    likes: store.likes,
    feed,
    cleanup: async () => {
      await stage.stop();
      await feed.close();
      await store.cleanup();
      await deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace));
    },
  };
}
