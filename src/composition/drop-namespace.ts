import { setTimeout as sleep } from 'node:timers/promises';
import { createAdmin } from '../adapters/kafka/kafka-client.ts';
import { deleteTopics, namespaceTopics } from '../adapters/kafka/kafka-topics.ts';
import { deleteRedisNamespace } from '../adapters/redis/redis-namespace.ts';
import type { Options } from '../config/options.ts';
import { dropStoreNamespace } from './create-store.ts';

/**
 * Removes everything a distributed Tally created under `options.namespace`: the store profile's
 * tables (PostgreSQL schema, slot and publication; ...), the Kafka topics and consumer groups
 * (`<ns>.*`) and the Redis keys (`<ns>:*`). Stop the processes first. Every part is attempted;
 * the failures are thrown together at the end.
 */
export async function dropNamespace(options: Options): Promise<void> {
  const failures: unknown[] = [];
  const attempt = async (what: () => Promise<void>): Promise<void> => {
    await what().catch((error: unknown) => failures.push(error));
  };
  await attempt(() => dropStoreNamespace(options));
  await attempt(() => deleteTopics({ brokers: options.kafkaBrokers }, namespaceTopics(options.namespace)));
  await attempt(() => deleteGroups(options.kafkaBrokers, options.namespace));
  await attempt(() => deleteRedisNamespace(options.redisUrl, options.namespace));
  if (failures.length > 0) throw new AggregateError(failures, `dropping namespace ${options.namespace} failed: ${failures.map(String).join('; ')}`);
}

/** A group still holding members (a killed one stays until its session times out) cannot be deleted yet: retried. */
async function deleteGroups(brokers: string, namespace: string, timeoutMs = 30_000): Promise<void> {
  const admin = createAdmin({ brokers });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${namespace}.`));
      if (groups.length === 0) return;
      try {
        await admin.deleteGroups({ groups });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(500);
      }
    }
  } finally {
    await admin.close();
  }
}
