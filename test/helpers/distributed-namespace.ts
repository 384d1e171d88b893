import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createAdmin } from '../../src/adapters/kafka/kafka-client.ts';
import { deleteTopics, namespaceTopics } from '../../src/adapters/kafka/kafka-topics.ts';
import { dropPostgresNamespace } from '../../src/adapters/postgres/pg-schema.ts';
import { uniqueName } from './wait.ts';

/** The servers `./tally services up` starts, unless the environment names others. */
export const SERVERS = {
  brokers: process.env.TALLY_KAFKA_BROKERS ?? '127.0.0.1:9092',
  postgresUrl: process.env.TALLY_POSTGRES_URL ?? 'postgres://tally:tally@127.0.0.1:5432/tally',
  redisUrl: process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;

/** The connection flags every distributed process of a test gets, for namespace `ns`. */
export function serverFlags(namespace: string): string[] {
  return ['--namespace', namespace, '--kafka-brokers', SERVERS.brokers, '--postgres-url', SERVERS.postgresUrl, '--redis-url', SERVERS.redisUrl];
}

/** A fresh namespace (`t_<random>`) for one test file's Tally: topics, schema, slot and keys of its own. */
export function distributedNamespace(): string {
  return uniqueName('t');
}

/**
 * Removes everything a distributed Tally created under `namespace`: the PostgreSQL slot,
 * publication and schema, the Kafka topics and consumer groups (`${namespace}.*`), and the Redis
 * keys (`${namespace}:*`). Stop the processes first. Every part is attempted; the failures are
 * thrown together at the end.
 */
export async function dropDistributedNamespace(namespace: string): Promise<void> {
  const failures: unknown[] = [];
  const attempt = async (what: () => Promise<void>): Promise<void> => {
    await what().catch((error: unknown) => failures.push(error));
  };
  await attempt(() => dropPostgresNamespace({ url: SERVERS.postgresUrl, namespace }));
  await attempt(() => deleteTopics({ brokers: SERVERS.brokers }, namespaceTopics(namespace)));
  await attempt(() => deleteGroups(namespace));
  await attempt(() => deleteRedisKeys(namespace));
  if (failures.length > 0) throw new AggregateError(failures, `cleaning up namespace ${namespace} failed`);
}

/** A group still holding members (a killed one stays until its session times out) cannot be deleted yet: retried. */
async function deleteGroups(namespace: string, timeoutMs = 30_000): Promise<void> {
  const admin = createAdmin({ brokers: SERVERS.brokers });
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

async function deleteRedisKeys(namespace: string): Promise<void> {
  const redis = new Redis(SERVERS.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
