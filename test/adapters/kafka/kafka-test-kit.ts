import type { TestContext } from 'node:test';
import type { GroupTimings } from '../../../src/adapters/kafka/kafka-client.ts';
import { deleteTopics, namespaceTopics } from '../../../src/adapters/kafka/kafka-topics.ts';
import { uniqueName } from '../../helpers/wait.ts';

/** The broker `./tally services up` starts, unless the environment names another. */
export const BROKERS = process.env.TALLY_KAFKA_BROKERS ?? '127.0.0.1:9092';

/** Short group timings so rebalances in tests take about a second (6 s is the broker's minimum session). */
export const TEST_TIMINGS: GroupTimings = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 6_000 };

/** A fresh namespace whose topics are deleted after the test. */
export function kafkaNamespace(t: TestContext): string {
  const namespace = uniqueName('t');
  t.after(() => deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace)));
  return namespace;
}

/** A namespace for a fixture without a test context; call `cleanup` when done. */
export function kafkaNamespaceWithCleanup(): { namespace: string; cleanup: () => Promise<void> } {
  const namespace = uniqueName('t');
  return { namespace, cleanup: () => deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace)) };
}
