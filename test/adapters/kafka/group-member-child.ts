/**
 * A consumer-group member in a process of its own, for tests that kill it with SIGKILL:
 *
 *   node group-member-child.ts BROKERS TOPIC GROUP INSTANCE_ID SESSION_TIMEOUT_MS
 *
 * as a static member under INSTANCE_ID. Prints `partitions [..]` on stdout each time the
 * partitions it owns change; its log (pino JSON) goes to stderr.
 */
import { KafkaGroupReader } from '../../../src/adapters/kafka/kafka-group-reader.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const [brokers, topic, group, instance, session] = process.argv.slice(2) as [string, string, string, string, string];
const sessionTimeoutMs = Number(session);
const reader = await KafkaGroupReader.open({
  connection: { brokers, instanceId: instance, log: createLogger('info', 'group-member') },
  role: 'test-member',
  topic,
  group,
  maxRecords: 100,
  maxWaitMs: 50,
  startAt: 'committed',
  timings: { sessionTimeoutMs, heartbeatIntervalMs: 500, rebalanceTimeoutMs: sessionTimeoutMs },
});
let shown = '';
for (;;) {
  await reader.poll(100).catch(() => undefined);
  const now = JSON.stringify([...reader.partitions].sort((a, b) => a - b));
  if (now !== shown) process.stdout.write(`partitions ${now}\n`);
  shown = now;
}
