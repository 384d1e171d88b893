/**
 * The change feed on Apache Kafka: the rows that really changed in the likes store, relayed by
 * the `cdc` stage (KafkaChangePublisher) and read by the counter.
 *
 * Message format (what any Kafka client reads from the topic):
 * - topic `${namespace}.like-changes` (namespace `tally` by default), `partitions` partitions
 *   (`--partitions`, 4 by default), created at start-up when missing, replicated per topicReplication (3 on a 3+ broker cluster);
 * - partition `fnv1a(postId) % partitions` (see `src/domain/hash.ts`);
 * - value: UTF-8 JSON, a bundle: an array of the changes one producer flush had for the
 *   partition (at most `--kafka-record-events`), in order, with no key; with 1, a record is one
 *   change keyed by its post id (UTF-8). Readers take both forms. A change is one of
 *   - `{"kind":"delta","postId":"<id>","userId":"<id>","delta":1|-1,"source":"<pos>"}`: a likes
 *     row appeared (+1) or disappeared (-1);
 *   - `{"kind":"recount","postId":"<id>","count":<n>,"source":"<pos>"}`: the post had exactly
 *     `n` likes rows at this point of the feed (every delta before it is included, none after);
 * - `source` is the change's position in the likes store's own log (fixed-width, sorts in commit
 *   order; for PostgreSQL the LSN and the index in the transaction, as hex);
 * - written by an idempotent producer with acks=all, in commit order within each partition.
 */
import type { PositionedChange, StreamPosition } from '../../domain/change.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ChangeBatch, ChangeFeed, ChangeReader, ChangeReaderOptions } from '../../ports/change-feed.ts';
import type { GroupTimings, KafkaConnection } from './kafka-client.ts';
import { CHANGE_START, decodeChanges, entriesOf } from './kafka-codec.ts';
import { DecodingReader } from './kafka-decoding-reader.ts';
import { KafkaGroupReader } from './kafka-group-reader.ts';
import { checkPartitions, ensureTopic, likeChangesTopic, namespacedGroup } from './kafka-topics.ts';

export interface KafkaChangeFeedOptions {
  /** Bootstrap brokers, `host:port[,host:port...]`. */
  readonly brokers: string;
  readonly namespace: string;
  /** Partitions of the changes topic; must match the topic when it exists. */
  readonly partitions: number;
  readonly clientId?: string;
  /** Static membership of this process in the consumer groups (see KafkaConnection.instanceId). */
  readonly instanceId?: string;
  readonly log?: Logger;
  /** Consumer-group timings (tests shorten them); defaults suit production. */
  readonly groupTimings?: GroupTimings;
}

/**
 * Readers are members of the counter's consumer group: partitions are spread over the counter
 * processes. The counter store, not the group, says where to read: whenever a reader is given
 * partitions it asks `resumeFrom` and starts each one there (at the earliest offset when the
 * store has no position). Commits to the group are only a hint for operators (lag).
 */
export class KafkaChangeFeed implements ChangeFeed {
  readonly topic: string;
  readonly #options: KafkaChangeFeedOptions;
  readonly #connection: KafkaConnection;
  readonly #readers = new Set<DecodingReader<PositionedChange>>();

  constructor(options: KafkaChangeFeedOptions) {
    checkPartitions(options.partitions);
    this.#options = options;
    this.topic = likeChangesTopic(options.namespace);
    this.#connection = { brokers: options.brokers, clientId: options.clientId ?? 'tally', instanceId: options.instanceId, log: options.log };
  }

  async init(): Promise<void> {
    await ensureTopic(this.#connection, this.topic, this.#options.partitions);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#readers].map((r) => r.close()));
  }

  async reader(options: ChangeReaderOptions): Promise<ChangeReader> {
    const group = await KafkaGroupReader.open({
      connection: this.#connection,
      role: 'changes-reader',
      topic: this.topic,
      group: namespacedGroup(this.#options.namespace, options.group),
      maxRecords: options.maxChanges,
      maxWaitMs: options.maxWaitMs,
      startAt: options.resumeFrom,
      timings: this.#options.groupTimings,
      weight: (value) => entriesOf(value, CHANGE_START),
    });
    const log = this.#options.log;
    const decoding = new DecodingReader<PositionedChange>(
      group,
      {
        decode: (record) => decodeChanges(record.value)?.map(({ change }) => ({ change, partition: record.partition, offset: record.offset })),
        skipped: (record) => log?.error({ partition: record.partition, offset: record.offset }, 'kafka: skipped a like-changes message that is not a change'),
      },
      this.#readers,
    );
    return new KafkaChangeReader(decoding, log);
  }
}

class KafkaChangeReader implements ChangeReader {
  readonly #reader: DecodingReader<PositionedChange>;
  readonly #log: Logger | undefined;

  constructor(reader: DecodingReader<PositionedChange>, log: Logger | undefined) {
    this.#reader = reader;
    this.#log = log;
  }

  async poll(idleMs: number): Promise<ChangeBatch> {
    const { items, positions } = await this.#reader.poll(idleMs);
    return { changes: items, positions };
  }

  async release(positions: readonly StreamPosition[]): Promise<void> {
    try {
      await this.#reader.commit(positions);
    } catch (error) {
      this.#log?.warn({ err: error }, 'kafka: could not commit change-feed offsets (a hint only)');
    }
  }

  close(): Promise<void> {
    return this.#reader.close();
  }
}
