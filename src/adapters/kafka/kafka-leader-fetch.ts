import type { ConnectionPool, Consumer } from '@platformatic/kafka';
import { TallyError } from '../../domain/errors.ts';
import { hasKafkaError } from './kafka-client.ts';

/** The subset of a fetch response the adapters read: per partition, its batches of records. */
export interface FetchedPartition {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly logStartOffset: bigint;
  readonly records?: readonly {
    readonly firstOffset: bigint;
    readonly lastOffsetDelta: number;
    readonly attributes: number;
    readonly records: readonly { readonly offsetDelta: number; readonly value: Buffer | null }[];
  }[] | null;
}

/** One leader's answer: the partitions of the fetched topic. */
export interface FetchedTopics {
  readonly responses: readonly { readonly partitions: readonly FetchedPartition[] }[];
}

export interface LeaderFetchOptions {
  /** How long a leader may wait for `minBytes` to arrive. */
  readonly maxWaitMs: number;
  readonly minBytes: number;
  /** Bytes of one leader's answer. */
  readonly maxBytes: number;
  /** Bytes of one partition in it. */
  readonly partitionMaxBytes: number;
  /** Connections of their own for the fetches (see `createFetchPool`); the consumer's when absent. */
  readonly connectionPool?: ConnectionPool;
}

/**
 * Fetches partitions of one topic from given offsets: one request per partition leader (found in
 * the cluster metadata), all in flight at once. A leader that answers OFFSET_OUT_OF_RANGE gives
 * its response (the partition's `errorCode` and `logStartOffset` say where the log starts now).
 */
export async function fetchFromLeaders(consumer: Consumer, topic: string, offsets: ReadonlyMap<number, bigint>, options: LeaderFetchOptions): Promise<FetchedTopics[]> {
  if (offsets.size === 0) return [];
  const metadata = await consumer.metadata({ topics: [topic] });
  const info = metadata.topics.get(topic);
  if (info === undefined) throw new TallyError('backend_unavailable', `Kafka topic ${topic} is missing`, { retriable: true });
  const byLeader = new Map<number, { partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }[]>();
  for (const [partition, fetchOffset] of offsets) {
    const leader = info.partitions[partition]?.leader ?? -1;
    let list = byLeader.get(leader);
    if (list === undefined) byLeader.set(leader, (list = []));
    list.push({ partition, fetchOffset, partitionMaxBytes: options.partitionMaxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
  }
  const responses = await Promise.all(
    [...byLeader].map(async ([node, partitions]) => {
      try {
        return await consumer.fetch({
          node,
          topics: [{ topicId: info.id, partitions }],
          maxWaitTime: options.maxWaitMs,
          minBytes: options.minBytes,
          maxBytes: options.maxBytes,
          ...(options.connectionPool === undefined ? {} : { connectionPool: options.connectionPool }),
        });
      } catch (error) {
        if (hasKafkaError(error, 'OFFSET_OUT_OF_RANGE')) return outOfRangeResponse(error);
        throw error;
      }
    }),
  );
  return responses;
}

/** The response carried by an OFFSET_OUT_OF_RANGE fetch error, when the client attached it. */
function outOfRangeResponse(error: unknown): FetchedTopics {
  const response = (error as { response?: FetchedTopics }).response;
  if (response !== undefined && Array.isArray(response.responses)) return response;
  throw error;
}
