import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import { KafkaEventLog } from '../../../src/adapters/kafka/kafka-event-log.ts';
import { KafkaProgressProbe } from '../../../src/adapters/kafka/kafka-progress-probe.ts';
import { streamProgressConformance } from '../../conformance/progress-probes.conformance.ts';
import { BROKERS, kafkaNamespaceWithCleanup, TEST_TIMINGS } from './kafka-test-kit.ts';

const PARTITIONS = 4;

streamProgressConformance('kafka', async () => {
  const { namespace, cleanup } = kafkaNamespaceWithCleanup();
  const events = new KafkaEventLog({ brokers: BROKERS, namespace, partitions: PARTITIONS, maxPendingEvents: 10_000, groupTimings: TEST_TIMINGS });
  const publisher = new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: PARTITIONS });
  const progress = new KafkaProgressProbe({ brokers: BROKERS, namespace });
  await events.init();
  await publisher.init();
  await progress.init();
  return {
    progress,
    events,
    publisher,
    partitions: PARTITIONS,
    cleanup: async () => {
      await progress.close();
      await publisher.close();
      await events.close();
      await cleanup();
    },
  };
});
