import { TallyError } from '../../domain/errors.ts';
import { createAdmin, hasKafkaError, unavailable } from './kafka-client.ts';
import type { KafkaConnection } from './kafka-client.ts';
import { deleteListedTopics, topicReplication } from './kafka-topics.ts';

/**
 * The number of sub-shards S the like-events log is written with, recorded durably in Kafka as
 * an empty marker topic `<events topic>.hot-shards-<S>` (visible with `kafka-topics --list`,
 * deleted with the namespace). A log written before markers existed counts as S = 1.
 *
 * The rule: the partition of an event depends on S, so a (post, user) pair's events written
 * under two values of S could sit in two partitions and be applied out of order. S may therefore
 * change only while the log is drained (ingest has applied and committed every event); a process
 * started with another S while events are in flight stops with `invalid_option` and changes
 * nothing. Stop every api, let ingest catch up, then restart the api processes with the new value.
 * Only processes that append check it: the others do not depend on S.
 */
export interface HotShardsCheck {
  readonly connection: KafkaConnection;
  /** The like-events topic. */
  readonly topic: string;
  /** The S this process writes with. */
  readonly shards: number;
  /** Events in the log that ingest has not committed yet (0 = drained). */
  readonly undrained: () => Promise<number>;
}

const MARK = '.hot-shards-';

/** The marker topic recording S for a like-events topic. */
export function hotShardsMarker(topic: string, shards: number): string {
  return `${topic}${MARK}${shards}`;
}

/** The S values recorded for `topic` among existing topic names (normally one). */
export function recordedHotShards(topic: string, topics: readonly string[]): number[] {
  const prefix = `${topic}${MARK}`;
  return topics
    .filter((t) => t.startsWith(prefix) && /^\d+$/.test(t.slice(prefix.length)))
    .map((t) => Number(t.slice(prefix.length)))
    .sort((a, b) => a - b);
}

/**
 * Checks `shards` against the recorded S before the topic is written (call it before creating the
 * topic): records it on a fresh log, accepts it when equal, moves the record when the log is
 * drained, and refuses otherwise, naming `--hot-shards`.
 */
export async function ensureHotShards(check: HotShardsCheck): Promise<void> {
  const { connection, topic, shards } = check;
  const admin = createAdmin(connection);
  try {
    const existing = await admin.listTopics();
    const markers = recordedHotShards(topic, existing);
    const fresh = !existing.includes(topic) && markers.length === 0;
    const recorded = markers.length > 0 ? markers : fresh ? [] : [1];
    if (recorded.length === 1 && recorded[0] === shards) return;
    if (!fresh) {
      const waiting = await check.undrained();
      if (waiting > 0) {
        const was = recorded.join(' and ');
        throw new TallyError(
          'invalid_option',
          `--hot-shards ${shards} (TALLY_HOT_SHARDS) differs from the ${was} the log ${topic} was written with, and ${waiting} events in it are not applied by ingest yet: ` +
            `changing the sub-shards now could reorder one (post, user)'s events. Start with --hot-shards ${was}, or stop every api process, let ingest apply the log, then restart the api processes with the new value`,
        );
      }
    }
    try {
      const cluster = await admin.metadata({ topics: [] });
      const { replicas, configs } = topicReplication(cluster.brokers.size);
      await admin.createTopics({ topics: [hotShardsMarker(topic, shards)], partitions: 1, replicas, configs });
    } catch (error) {
      if (!hasKafkaError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
    }
    const stale = markers.filter((s) => s !== shards).map((s) => hotShardsMarker(topic, s));
    await deleteListedTopics(admin, stale);
    connection.log?.info({ topic, hotShards: shards, was: recorded }, 'kafka: recorded the log sub-shards');
  } catch (error) {
    throw unavailable(`checking --hot-shards of ${topic}`, error);
  } finally {
    await admin.close();
  }
}
