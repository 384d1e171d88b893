import { ListOffsetTimestamps } from '@platformatic/kafka';
import type { Change } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import { partitionOf } from '../../domain/hash.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ChangePublisher } from '../../ports/change-publisher.ts';
import { KafkaBatchProducer } from './kafka-batch-producer.ts';
import type { OutgoingMessage } from './kafka-batch-producer.ts';
import { createStandaloneConsumer, unavailable } from './kafka-client.ts';
import type { KafkaConnection } from './kafka-client.ts';
import { decodeSource, encodeChange } from './kafka-codec.ts';
import { fetchFromLeaders } from './kafka-leader-fetch.ts';
import { checkPartitions, ensureTopic, likeChangesTopic } from './kafka-topics.ts';

export interface KafkaChangePublisherOptions {
  /** Bootstrap brokers, `host:port[,host:port...]`. */
  readonly brokers: string;
  readonly namespace: string;
  /** Partitions of the changes topic; must match the topic when it exists. */
  readonly partitions: number;
  readonly clientId?: string;
  readonly log?: Logger;
  /** Most changes in one record (1 by default: one per record, keyed by post); above 1, changes of a partition share records (bundles, unkeyed). */
  readonly recordChanges?: number;
}

/**
 * Writes captured changes into the changes topic (format in `kafka-change-feed.ts`): key and
 * partition by post, idempotent producer with acks=all, in order per partition. Each message
 * carries its capture `source`, so a restarted relay reads the last one of every partition back
 * and skips what is already there.
 */
export class KafkaChangePublisher implements ChangePublisher {
  readonly topic: string;
  readonly #partitions: number;
  readonly #recordChanges: number;
  readonly #connection: KafkaConnection;
  #batcher: KafkaBatchProducer | undefined;

  constructor(options: KafkaChangePublisherOptions) {
    checkPartitions(options.partitions);
    this.topic = likeChangesTopic(options.namespace);
    this.#partitions = options.partitions;
    this.#recordChanges = options.recordChanges ?? 1;
    this.#connection = { brokers: options.brokers, clientId: options.clientId ?? 'tally', log: options.log };
  }

  async init(): Promise<void> {
    await ensureTopic(this.#connection, this.topic, this.#partitions);
    this.#batcher = await KafkaBatchProducer.start(this.#connection, 'changes-producer', this.topic, { recordEntries: this.#recordChanges });
  }

  async close(): Promise<void> {
    const batcher = this.#batcher;
    this.#batcher = undefined;
    await batcher?.close();
  }

  /** Changes per record in what this relay published lately (1 without bundles). */
  get changesPerRecord(): number {
    return this.#batcher?.messagesPerRecord ?? 1;
  }

  partitionOf(postId: string): number {
    return partitionOf(postId, this.#partitions);
  }

  async publish(changes: readonly Change[], sources: readonly string[]): Promise<void> {
    if (changes.length !== sources.length) throw new Error(`publish: ${changes.length} changes but ${sources.length} sources`);
    if (changes.length === 0) return;
    const batcher = this.#batcher;
    if (batcher === undefined) throw new TallyError('not_ready', 'the Kafka change publisher is not initialised', { retriable: true });
    const bundle = this.#recordChanges > 1;
    const messages: OutgoingMessage[] = changes.map((change, i) => {
      const partition = this.partitionOf(change.postId);
      const value = encodeChange(change, sources[i] as string);
      return bundle ? { partition, value, bundle } : { partition, key: Buffer.from(change.postId), value };
    });
    await batcher.send(messages);
  }

  /** Reads the last message of every partition back; empty partitions are absent. */
  async publishedSources(): Promise<Map<number, string>> {
    const consumer = createStandaloneConsumer(this.#connection, 'changes-readback');
    const topic = this.topic;
    try {
      const ends = (await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST })).get(topic) ?? [];
      const wanted = new Map<number, bigint>();
      ends.forEach((end, partition) => {
        if (end > 0n) wanted.set(partition, end - 1n);
      });
      const sources = new Map<number, string>();
      if (wanted.size === 0) return sources;
      const responses = await fetchFromLeaders(consumer, topic, wanted, { maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, partitionMaxBytes: 2 << 20 });
      for (const response of responses) {
        for (const t of response.responses) {
          for (const part of t.partitions) {
            const last = wanted.get(part.partitionIndex);
            if (last === undefined) continue;
            for (const batch of part.records ?? []) {
              for (const record of batch.records) {
                if (batch.firstOffset + BigInt(record.offsetDelta) !== last) continue;
                const source = decodeSource(record.value);
                if (source !== undefined) sources.set(part.partitionIndex, source);
              }
            }
          }
        }
      }
      return sources;
    } catch (error) {
      throw unavailable(`reading the last changes of ${topic}`, error);
    } finally {
      await consumer.close().catch(() => undefined);
    }
  }
}
