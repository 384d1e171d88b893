/**
 * Measures the Kafka event log on the local broker (not part of `npm test`):
 *   ./tally node bench/measure/kafka-event-log.measure.ts [events=200000] [appenders=200] [perAppend=100]
 * Appenders each append `perAppend` events at a time until `events` are durable, then one consumer
 * reads them all back; prints events/s of both and append latency percentiles.
 */
import { KafkaEventLog } from '../../src/adapters/kafka/kafka-event-log.ts';
import { deleteTopics, namespaceTopics } from '../../src/adapters/kafka/kafka-topics.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import { uniqueName } from './measure-kit.ts';
import { BROKERS } from './measure-kit.ts';

const total = Number(process.argv[2] ?? 200_000);
const appenders = Number(process.argv[3] ?? 200);
const perAppend = Number(process.argv[4] ?? 100);
const namespace = uniqueName('t');
const log = new KafkaEventLog({ brokers: BROKERS, namespace, partitions: 12, maxPendingEvents: 1_000_000 });
await log.init();
try {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(Array.from({ length: appenders }, async () => {
    while (next < total) {
      const from = next;
      next += perAppend;
      const events: LikeEvent[] = Array.from({ length: perAppend }, (_, i) => ({ op: 'like', postId: `p${(from + i) % 100_003}`, userId: `u${from + i}`, at: Date.now() }));
      const t0 = performance.now();
      await log.append(events);
      latencies.push(performance.now() - t0);
    }
  }));
  const appendMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const pct = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1);
  console.log(`append: ${next} events in ${appendMs.toFixed(0)} ms = ${Math.round(next / (appendMs / 1000))} events/s (${appenders} appenders x ${perAppend} events; append latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms)`);

  const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 20_000, maxWaitMs: 5 });
  const readStart = performance.now();
  let read = 0;
  while (read < next) {
    const batch = await consumer.poll(1_000);
    read += batch.events.length;
    await consumer.commit(batch);
  }
  const readMs = performance.now() - readStart;
  console.log(`consume: ${read} events in ${readMs.toFixed(0)} ms = ${Math.round(read / (readMs / 1000))} events/s (maxEvents 20000, commit after each batch)`);
  await consumer.close();
} finally {
  await log.close();
  await deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace));
}
