import { ListOffsetTimestamps, type Admin, type Consumer } from '@platformatic/kafka';
import type { StreamPosition } from '../../domain/change.ts';
import type { StreamProgress } from '../../ports/stream-progress.ts';
import { createAdmin, createStandaloneConsumer, type KafkaConnection } from './kafka-client.ts';
import { likeChangesTopic, likeEventsTopic, namespacedGroup } from './kafka-topics.ts';

export interface KafkaProgressProbeOptions extends KafkaConnection {
  readonly namespace: string;
}

/** How far the Kafka side of the pipeline has got: end offsets of the topics, offsets committed by groups. */
export class KafkaProgressProbe implements StreamProgress {
  readonly #options: KafkaProgressProbeOptions;
  #admin: Admin | undefined;
  #consumer: Consumer | undefined;

  constructor(options: KafkaProgressProbeOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#admin = createAdmin(this.#options);
    this.#consumer = createStandaloneConsumer(this.#options, 'progress');
  }

  async close(): Promise<void> {
    await Promise.all([this.#admin?.close(), this.#consumer?.close(true)]);
  }

  /** The next offset to be written in each partition of the like-events topic. */
  logEnds(): Promise<StreamPosition[]> {
    return this.#ends(likeEventsTopic(this.#options.namespace));
  }

  /** The next offset to be written in each partition of the change-feed topic. */
  feedEnds(): Promise<StreamPosition[]> {
    return this.#ends(likeChangesTopic(this.#options.namespace));
  }

  /** The offsets a stage's consumer group committed on the like-events topic. */
  async committed(group: string): Promise<StreamPosition[]> {
    const admin = this.#admin;
    if (admin === undefined) throw new Error('KafkaProgressProbe: init() first');
    const topic = likeEventsTopic(this.#options.namespace);
    const groups = await admin.listConsumerGroupOffsets({ groups: [namespacedGroup(this.#options.namespace, group)] });
    const positions: StreamPosition[] = [];
    for (const g of groups) {
      for (const t of g.topics) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) if (p.committedOffset >= 0n) positions.push({ partition: p.partitionIndex, offset: Number(p.committedOffset) });
      }
    }
    return positions;
  }

  async #ends(topic: string): Promise<StreamPosition[]> {
    const consumer = this.#consumer;
    if (consumer === undefined) throw new Error('KafkaProgressProbe: init() first');
    const offsets = (await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST })).get(topic) ?? [];
    return offsets.map((offset, partition) => ({ partition, offset: Number(offset) }));
  }
}
