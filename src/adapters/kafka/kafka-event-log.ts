/**
 * The like-events log on Apache Kafka.
 *
 * Message format (what any Kafka client reads from the topic):
 * - topic `${namespace}.like-events` (namespace `tally` by default), `partitions` partitions
 *   (`--partitions`, 4 by default), created at start-up when missing, replicated per topicReplication (3 on a 3+ broker cluster);
 * - an event's log key is `postId#k` with `k = fnv1a(userId) % S`, S = `--hot-shards` (the seed's
 *   sub-shards of a post); with S = 1 the plain post id;
 * - partition `(fnv1a(postId) + k) % partitions` (FNV-1a 32 bit over the UTF-16 code units, see
 *   `src/domain/log-key.ts`): every event of one (post, user) pair is in one partition, in order,
 *   and one post's events spread over up to S consecutive partitions;
 * - S is recorded as the marker topic `<topic>.hot-shards-<S>` (see `kafka-hot-shards.ts`);
 * - value: UTF-8 JSON, a bundle: an array of the events one producer flush had for the partition
 *   (at most `recordEvents`, `--kafka-record-events`), in order, and no key. Each event is
 *   `{"op":"like"|"unlike","postId":"<id>","userId":"<id>","at":<ms>}` where ids are strings
 *   matching `^[A-Za-z0-9_-]{1,64}$` and `at` is when the api accepted the event, in
 *   milliseconds since the epoch. With `recordEvents` 1 a record is one event object, keyed by
 *   its log key (UTF-8). Readers take both forms;
 * - erasure markers (DELETE /v1/users/{id}/likes, DELETE /v1/posts/{id}/likes): value
 *   `{"op":"erase-user"|"erase-post","erasureId":"<id>","target":"<user or post id>","at":<ms>,"shards":<S>}`,
 *   key `<op>#<target>`, one copy in every partition that can hold likes of the target (all
 *   partitions for a user, the post's S consecutive partitions for a post);
 * - no headers; written by an idempotent producer with acks=all.
 *
 * Example: `kcat -C -b 127.0.0.1:9092 -t tally.like-events -f '%p %o %k %s\n'`.
 */
import { TallyError } from '../../domain/errors.ts';
import { logKeyOf, logPartitionOf } from '../../domain/log-key.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import { isErasureMarker, markerPartitions, type ErasureMarker } from '../../domain/erasure.ts';
import type { Logger } from '../../observability/logger.ts';
import type { AppendResult, ConsumerOptions, EventLog, LogBatch, LogConsumer } from '../../ports/event-log.ts';
import { KafkaBatchProducer } from './kafka-batch-producer.ts';
import type { OutgoingMessage } from './kafka-batch-producer.ts';
import type { GroupTimings, KafkaConnection } from './kafka-client.ts';
import { decodeEvents, encodeEvent, encodeMarker, entriesOf, EVENT_START, isMarkerValue } from './kafka-codec.ts';
import { DecodingReader } from './kafka-decoding-reader.ts';
import { KafkaGroupReader } from './kafka-group-reader.ts';
import { ensureHotShards } from './kafka-hot-shards.ts';
import { KafkaProgressProbe } from './kafka-progress-probe.ts';
import { checkPartitions, ensureTopic, likeEventsTopic, namespacedGroup } from './kafka-topics.ts';

export interface KafkaEventLogOptions {
  /** Bootstrap brokers, `host:port[,host:port...]`. */
  readonly brokers: string;
  /** Prefix of the topic name. */
  readonly namespace: string;
  /** Partitions of the topic; must match the topic when it exists. */
  readonly partitions: number;
  /** Events appended and not yet acknowledged beyond which `append` fails with `overloaded`. */
  readonly maxPendingEvents: number;
  /** Sub-shards S of a post's log key (`postId#k`); 1 (the default) keys by post id alone. */
  readonly hotShards?: number;
  /**
   * Most events in one record (1 by default: one event per record, keyed by its log key). Above
   * 1, events appended at the same moment share records per partition (bundles, unkeyed).
   */
  readonly recordEvents?: number;
  /**
   * Whether this process appends (true by default). A process that only consumes neither checks
   * nor records the log's S (it does not depend on it) and may not append.
   */
  readonly appends?: boolean;
  /** The consumer group whose commits say the log is drained (S may change only then); `ingest` by default. */
  readonly drainGroup?: string;
  readonly clientId?: string;
  /** Static membership of this process in the consumer groups (see KafkaConnection.instanceId). */
  readonly instanceId?: string;
  readonly log?: Logger;
  /** Consumer-group timings (tests shorten them); defaults suit production. */
  readonly groupTimings?: GroupTimings;
}

/**
 * The like-events log on Kafka. Appends of the same moment are group committed into one produce
 * request (see KafkaBatchProducer); consumers are members of a consumer group that commit only
 * when told to, after the batch is applied.
 */
export class KafkaEventLog implements EventLog {
  readonly partitions: number;
  readonly topic: string;
  /** Sub-shards of a post's log key. */
  readonly hotShards: number;
  readonly #options: KafkaEventLogOptions;
  readonly #connection: KafkaConnection;
  #batcher: KafkaBatchProducer | undefined;
  readonly #consumers = new Set<DecodingReader<PlacedEvent>>();

  constructor(options: KafkaEventLogOptions) {
    checkPartitions(options.partitions);
    this.#options = options;
    const hotShards = options.hotShards ?? 1;
    if (!Number.isInteger(hotShards) || hotShards < 1) {
      throw new TallyError('invalid_option', `hot shards must be a positive integer, got ${hotShards}`);
    }
    this.hotShards = hotShards;
    this.partitions = options.partitions;
    this.topic = likeEventsTopic(options.namespace);
    this.#connection = { brokers: options.brokers, clientId: options.clientId ?? 'tally', instanceId: options.instanceId, log: options.log };
  }

  async init(): Promise<void> {
    if (this.#options.appends !== false) await ensureHotShards({ connection: this.#connection, topic: this.topic, shards: this.hotShards, undrained: () => this.#undrained() });
    await ensureTopic(this.#connection, this.topic, this.partitions);
    this.#batcher = await KafkaBatchProducer.start(this.#connection, 'events-producer', this.topic, { recordEntries: this.#options.recordEvents ?? 1 });
  }

  /** Events in the log that the drain group has not committed. */
  async #undrained(): Promise<number> {
    const probe = new KafkaProgressProbe({ ...this.#connection, namespace: this.#options.namespace });
    await probe.init();
    try {
      const [ends, committed] = await Promise.all([probe.logEnds(), probe.committed(this.#options.drainGroup ?? 'ingest')]);
      const done = new Map(committed.map((p) => [p.partition, p.offset]));
      return ends.reduce((sum, p) => sum + Math.max(0, p.offset - (done.get(p.partition) ?? 0)), 0);
    } finally {
      await probe.close();
    }
  }

  /**
   * Events per record in what this process appended lately (1 without bundles). Turns offsets,
   * which count records, into an estimate of events for the lag (`tally_stage_lag_events`,
   * `--max-ingest-lag`).
   */
  get eventsPerRecord(): number {
    return this.#batcher?.messagesPerRecord ?? 1;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.close()));
    const batcher = this.#batcher;
    this.#batcher = undefined;
    await batcher?.close();
  }

  async append(events: readonly LikeEvent[]): Promise<AppendResult> {
    if (events.length === 0) return { positions: [] };
    const batcher = this.#batcher;
    if (batcher === undefined) throw new TallyError('not_ready', 'the Kafka event log is not initialised', { retriable: true });
    if (this.#options.appends === false) throw new Error('this Kafka event log was opened by a process that does not append (appends: false)');
    if (batcher.pending + events.length > this.#options.maxPendingEvents) {
      throw new TallyError('overloaded', `the log has ${batcher.pending} events waiting for Kafka to acknowledge them; retry later`, { retriable: true });
    }
    const shards = this.hotShards;
    const bundle = (this.#options.recordEvents ?? 1) > 1;
    const messages: OutgoingMessage[] = events.map((event) => {
      const partition = logPartitionOf(event.postId, event.userId, shards, this.partitions);
      const value = encodeEvent(event);
      return bundle ? { partition, value, bundle } : { partition, key: Buffer.from(logKeyOf(event.postId, event.userId, shards)), value };
    });
    const after = await batcher.send(messages);
    return { positions: [...after].map(([partition, offset]) => ({ partition, offset })) };
  }

  async appendErasure(marker: ErasureMarker): Promise<AppendResult> {
    const batcher = this.#batcher;
    if (batcher === undefined) throw new TallyError('not_ready', 'the Kafka event log is not initialised', { retriable: true });
    if (this.#options.appends === false) throw new Error('this Kafka event log was opened by a process that does not append (appends: false)');
    const value = encodeMarker(marker);
    const key = Buffer.from(`${marker.op}#${marker.target}`);
    const messages: OutgoingMessage[] = markerPartitions(marker, this.partitions).map((partition) => ({ partition, key, value }));
    const after = await batcher.send(messages);
    return { positions: [...after].map(([partition, offset]) => ({ partition, offset })) };
  }

  async consumer(options: ConsumerOptions): Promise<LogConsumer> {
    const reader = await KafkaGroupReader.open({
      connection: this.#connection,
      role: 'events-consumer',
      topic: this.topic,
      group: namespacedGroup(this.#options.namespace, options.group),
      maxRecords: options.maxEvents,
      maxWaitMs: options.maxWaitMs,
      startAt: options.resumeFrom ?? 'committed',
      timings: this.#options.groupTimings,
      endsBatch: (record) => isMarkerValue(record.value),
      weight: (value) => entriesOf(value, EVENT_START),
    });
    const log = this.#options.log;
    const decoding = new DecodingReader<PlacedEvent>(
      reader,
      {
        decode: (record) => decodeEvents(record.value)?.map((event) => ({ event, partition: record.partition, offset: record.offset })),
        skipped: (record) => log?.warn({ partition: record.partition, offset: record.offset }, 'kafka: skipped a like-events message that is not a like event'),
      },
      this.#consumers,
    );
    return new KafkaLogConsumer(decoding);
  }
}

/** A decoded record of the like-events topic, with where it sits (a marker's place is applied with it). */
interface PlacedEvent {
  readonly event: LikeEvent | ErasureMarker;
  readonly partition: number;
  readonly offset: number;
}

/** A member of a consumer group of the like-events topic. */
class KafkaLogConsumer implements LogConsumer {
  readonly #reader: DecodingReader<PlacedEvent>;

  constructor(reader: DecodingReader<PlacedEvent>) {
    this.#reader = reader;
  }

  async poll(idleMs: number): Promise<LogBatch> {
    const { items, positions } = await this.#reader.poll(idleMs);
    const events: LikeEvent[] = [];
    for (const [i, { event, partition, offset }] of items.entries()) {
      if (!isErasureMarker(event)) {
        events.push(event);
      } else if (i === items.length - 1) {
        return { events, positions, marker: { event, partition, offset } };
      } else {
        // The reader ends a batch at each marker it recognises; this one was written otherwise.
        throw new TallyError('internal', `kafka: an erasure marker at partition ${partition} offset ${offset} is not encoded as Tally writes markers (it must start with {"op":"erase); refusing to apply it out of place`);
      }
    }
    return { events, positions };
  }

  commit(batch: LogBatch): Promise<void> {
    return this.#reader.commit(batch.positions);
  }

  close(): Promise<void> {
    return this.#reader.close();
  }
}
