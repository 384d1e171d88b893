import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from '@platformatic/kafka';
import { TallyError } from '../../domain/errors.ts';
import { createAdmin, hasKafkaError, unavailable } from './kafka-client.ts';
import type { KafkaConnection } from './kafka-client.ts';

/** A topic's partition count from the options; `invalid_option` unless a positive integer. */
export function checkPartitions(partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new TallyError('invalid_option', `partitions must be a positive integer, got ${partitions}`);
  return partitions;
}

/** The like-events topic of a namespace (one per Tally deployment or test). */
export function likeEventsTopic(namespace: string): string {
  return `${namespace}.like-events`;
}

/** The change-feed topic of a namespace, written by the `cdc` relay and read by the counter. */
export function likeChangesTopic(namespace: string): string {
  return `${namespace}.like-changes`;
}

/** A consumer group of a namespace: stages name their group (`ingest`, `counter`), Kafka sees `${namespace}.${group}`. */
export function namespacedGroup(namespace: string, group: string): string {
  return `${namespace}.${group}`;
}

/** Topics of a namespace, in the order they are created (what a cleanup deletes). */
export function namespaceTopics(namespace: string): string[] {
  return [likeEventsTopic(namespace), likeChangesTopic(namespace)];
}

/**
 * Replication of the topics Tally creates, from the cluster's size: 3 replicas with
 * `min.insync.replicas` 2 on three brokers or more (with acks=all, an acknowledged write then
 * survives the loss of any one broker), else one replica per broker.
 */
export function topicReplication(brokers: number): { replicas: number; configs: { name: string; value: string }[] } {
  const replicas = Math.max(1, Math.min(3, brokers));
  return { replicas, configs: replicas >= 3 ? [{ name: 'min.insync.replicas', value: '2' }] : [] };
}
const LEADERS_WAIT_MS = 10_000;

/**
 * Creates `topic` with `partitions` partitions if it does not exist, then waits until every
 * partition has a leader. An existing topic with another partition count is refused: the
 * partition of a post is `partitionOf(postId, partitions)`, so the count cannot silently differ.
 */
export async function ensureTopic(connection: KafkaConnection, topic: string, partitions: number): Promise<void> {
  const admin = createAdmin(connection);
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      try {
        const cluster = await admin.metadata({ topics: [] });
        const { replicas, configs } = topicReplication(cluster.brokers.size);
        await admin.createTopics({ topics: [topic], partitions, replicas, configs });
        connection.log?.info({ topic, partitions, replicas, configs }, 'kafka: created topic');
      } catch (error) {
        if (!hasKafkaError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
      }
    }
    const deadline = Date.now() + LEADERS_WAIT_MS;
    for (;;) {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
      const found = metadata.topics.get(topic);
      if (found !== undefined && found.partitionsCount !== partitions) {
        throw new TallyError(
          'invalid_option',
          `Kafka topic ${topic} has ${found.partitionsCount} partitions but ${partitions} are configured; set --partitions to ${found.partitionsCount} (posts are placed by partitionOf(postId, partitions))`,
        );
      }
      if (found !== undefined && found.partitions.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline) throw new TallyError('backend_unavailable', `Kafka topic ${topic} has partitions without a leader`, { retriable: true });
      await sleep(100);
    }
  } catch (error) {
    throw unavailable(`preparing topic ${topic}`, error);
  } finally {
    await admin.close();
  }
}

/**
 * Deletes topics that exist among `topics`, and the topics named under them (`<topic>.*`, such as
 * the like-events log's `hot-shards` marker) (tests and `namespace` cleanup).
 */
export async function deleteTopics(connection: KafkaConnection, topics: readonly string[]): Promise<void> {
  const admin = createAdmin(connection);
  try {
    const existing = await admin.listTopics();
    const present = existing.filter((t) => topics.includes(t) || topics.some((topic) => t.startsWith(`${topic}.`)));
    await deleteListedTopics(admin, present);
  } finally {
    await admin.close();
  }
}

/**
 * Deletes topics a listing showed. One deleted since by another process (two api processes
 * starting at once) is not a failure: the broker answers UNKNOWN_TOPIC_OR_PARTITION for it, and
 * deletes the others of the request all the same.
 */
export async function deleteListedTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return;
  try {
    await admin.deleteTopics({ topics: [...topics] });
  } catch (error) {
    if (!hasKafkaError(error, 'UNKNOWN_TOPIC_OR_PARTITION')) throw error;
  }
}
