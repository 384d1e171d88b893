import { IS_CONTROL, ListOffsetTimestamps } from '@platformatic/kafka';
import type { ConnectionPool, Consumer } from '@platformatic/kafka';
import type { StreamPosition } from '../../domain/change.ts';
import { createFetchPool, createGroupConsumer, DEFAULT_GROUP_TIMINGS, isRebalanceError, unavailable } from './kafka-client.ts';
import type { GroupTimings, KafkaConnection } from './kafka-client.ts';
import { fetchFromLeaders, type FetchedTopics } from './kafka-leader-fetch.ts';

/** One record as fetched: where it sits and its raw value. */
export interface FetchedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: Buffer | null;
  /** How many entries the record holds (see GroupReaderOptions.weight). */
  readonly entries: number;
}

/** Records in per-partition order, and for each partition read the offset after its last record. */
export interface RecordBatch {
  readonly records: readonly FetchedRecord[];
  readonly positions: readonly StreamPosition[];
}

/**
 * Where a member starts reading the partitions it is assigned: the group's committed offsets,
 * or positions from elsewhere (the counter store). A partition without one starts at the earliest.
 */
export type StartPositions = 'committed' | (() => Promise<readonly StreamPosition[]>);

export interface GroupReaderOptions {
  readonly connection: KafkaConnection;
  /** Part of the client id: `events-consumer`, `changes-reader`... */
  readonly role: string;
  readonly topic: string;
  readonly group: string;
  /** Most entries a batch holds (records weighed by `weight`); a single record heavier than that is a batch of its own. */
  readonly maxRecords: number;
  /** How many entries a record's value holds (a bundle's events); 1 for every record when absent. */
  readonly weight?: (value: Buffer | null) => number;
  /** How long a poll keeps fetching to fill a batch once it holds a record. */
  readonly maxWaitMs: number;
  readonly startAt: StartPositions;
  readonly timings?: GroupTimings;
  /** A record for which this is true is the last of its batch (the like-events log's erasure markers). */
  readonly endsBatch?: (record: FetchedRecord) => boolean;
}

const MIN_FETCH_BYTES = 1 << 20;
const MAX_FETCH_BYTES = 50 << 20;
const OFFSET_OUT_OF_RANGE = 1;

/**
 * A consumer-group member of one topic that fetches by itself instead of through the client's
 * stream, so that it owns its positions: it reads from where `startAt` says whenever the group
 * assigns it partitions, hands out batches only on `poll`, keeps what a fetch returned beyond a
 * batch for the next poll, and drops everything it holds when a rebalance starts (those
 * partitions may now be someone else's; the next owner starts from the committed position).
 */
export class KafkaGroupReader {
  readonly #options: GroupReaderOptions;
  readonly #consumer: Consumer;
  readonly #pool: ConnectionPool;
  readonly #fetchBytes: number;
  /** Grows on every rebalance event: a fetch that started before it is discarded. */
  #epoch = 0;
  #seekNeeded = true;
  #revoked = false;
  #partitions: number[] = [];
  #next = new Map<number, bigint>();
  #buffer: FetchedRecord[] = [];
  #bufferHead = 0;
  #bytesPerEntry = 128;
  #failure: Error | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  /** This member's id and generation at its last join (a static member's takeover keeps the generation). */
  #member: { memberId: string; generationId: number | undefined } | undefined;
  #takeoverSaidAt = Number.NEGATIVE_INFINITY;

  private constructor(options: GroupReaderOptions) {
    this.#options = options;
    this.#consumer = createGroupConsumer(options.connection, options.role, options.group, options.timings ?? DEFAULT_GROUP_TIMINGS);
    this.#pool = createFetchPool(options.connection, `${options.role}-fetch`);
    this.#fetchBytes = Math.min(MAX_FETCH_BYTES, Math.max(MIN_FETCH_BYTES, options.maxRecords * 256));
    this.#consumer.on('consumer:group:join', (joined: { memberId: string; generationId?: number }) => {
      this.#noticeTakeover(joined);
      this.#epoch++;
      this.#seekNeeded = true;
      this.#revoked = false;
      this.#wake?.();
    });
    this.#consumer.on('consumer:group:rebalance', () => {
      this.#epoch++;
      this.#revoked = true;
      this.#dropBuffer();
    });
    this.#consumer.on('error', (error) => {
      this.#failure = error;
      this.#wake?.();
    });
  }

  /**
   * A static member that joins again under a new member id in the same generation was fenced: a
   * process with the same `--kafka-instance-id` took its place (a restarted one does that on
   * purpose; two live ones keep taking it from each other). Said once a minute at most.
   */
  #noticeTakeover(joined: { memberId: string; generationId?: number }): void {
    const before = this.#member;
    this.#member = { memberId: joined.memberId, generationId: joined.generationId };
    const instanceId = this.#options.connection.instanceId;
    if (instanceId === undefined || instanceId === '' || before === undefined) return;
    if (before.memberId === joined.memberId || before.generationId !== joined.generationId) return;
    const now = Date.now();
    if (now - this.#takeoverSaidAt < 60_000) return;
    this.#takeoverSaidAt = now;
    this.#options.connection.log?.warn(
      { group: this.#options.group, instanceId },
      `kafka: another process joined group ${this.#options.group} with this process's --kafka-instance-id ${instanceId} and took its partitions; this process took them back. ` +
        'Two live processes with one id keep taking them from each other (counts stay exact: the store fences every batch, but both slow down): give each process its own --kafka-instance-id (TALLY_KAFKA_INSTANCE_ID)',
    );
  }

  /** Joins the group; resolves once this member has its first assignment (maybe empty). */
  static async open(options: GroupReaderOptions): Promise<KafkaGroupReader> {
    const reader = new KafkaGroupReader(options);
    try {
      reader.#consumer.topics.track(options.topic);
      await reader.#consumer.joinGroup({});
    } catch (error) {
      await reader.close();
      throw unavailable(`joining group ${options.group} on ${options.topic}`, error);
    }
    return reader;
  }

  /** The partitions this member owns right now. */
  get partitions(): readonly number[] {
    return this.#revoked ? [] : this.#partitions;
  }

  /**
   * Up to `maxRecords` records. Waits up to `idleMs` for the first one, then up to `maxWaitMs`
   * more for the batch to fill; an empty batch means nothing arrived.
   */
  async poll(idleMs: number): Promise<RecordBatch> {
    const max = this.#options.maxRecords;
    const idleUntil = Date.now() + idleMs;
    let taken: FetchedRecord[] = [];
    const weighed = { entries: 0 };
    let takenEpoch = this.#epoch;
    let fillUntil: number | undefined;
    while (!this.#closed) {
      if (this.#failure !== undefined) throw unavailable(`group ${this.#options.group}`, this.#failure);
      if (this.#seekNeeded) await this.#seek();
      if (takenEpoch !== this.#epoch) {
        // A rebalance since these were taken: their partitions may be another member's now.
        taken = [];
        weighed.entries = 0;
        takenEpoch = this.#epoch;
        fillUntil = undefined;
      }
      if (this.#seekNeeded) continue;
      if (this.#takeBuffered(taken, weighed, max)) break;
      if (weighed.entries >= max) break;
      if (taken.length > 0) fillUntil ??= Date.now() + this.#options.maxWaitMs;
      const remaining = (fillUntil ?? idleUntil) - Date.now();
      if (remaining <= 0) break;
      if (this.#revoked || this.#partitions.length === 0) {
        await this.#sleep(remaining);
      } else {
        const minBytes = taken.length === 0 ? 1 : Math.min(this.#fetchBytes, (max - weighed.entries) * this.#bytesPerEntry);
        await this.#fetch(remaining, minBytes);
      }
    }
    if (takenEpoch !== this.#epoch) taken = [];
    if (this.#closed) return { records: [], positions: [] };
    return { records: taken, positions: positionsAfter(taken) };
  }

  /**
   * Commits positions of the partitions this member still owns. A commit refused because the
   * group moved to a new generation is ignored: the next owner replays from the previous
   * commit, and replaying a suffix of a partition is harmless for the stages.
   */
  async commit(positions: readonly StreamPosition[]): Promise<void> {
    const owned = new Set(this.partitions);
    const offsets = positions
      .filter((p) => owned.has(p.partition))
      .map((p) => ({ topic: this.#options.topic, partition: p.partition, offset: BigInt(p.offset), leaderEpoch: -1 }));
    if (offsets.length === 0 || this.#closed) return;
    try {
      await this.#consumer.commit({ offsets });
    } catch (error) {
      if (isRebalanceError(error) || this.#closed) return;
      throw unavailable(`committing offsets of group ${this.#options.group}`, error);
    }
  }

  /** Leaves the group (its partitions go to the other members) and closes every socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    await this.#pool.close().catch(() => undefined);
    await this.#consumer.close(true).catch(() => undefined);
  }

  /** Start positions for the current assignment; retried by `poll` if the group moved meanwhile. */
  async #seek(): Promise<void> {
    const epoch = this.#epoch;
    const { topic } = this.#options;
    const partitions = [...(this.#consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? [])].sort((a, b) => a - b);
    const next = new Map<number, bigint>();
    try {
      if (partitions.length > 0) {
        const startAt = this.#options.startAt;
        if (startAt === 'committed') {
          const committed = (await this.#consumer.listCommittedOffsets({ topics: [{ topic, partitions }] })).get(topic) ?? [];
          for (const p of partitions) {
            const offset = committed[p];
            if (offset !== undefined && offset >= 0n) next.set(p, offset);
          }
        } else {
          const stored = await startAt();
          for (const { partition, offset } of stored) if (partitions.includes(partition)) next.set(partition, BigInt(offset));
        }
        const missing = partitions.filter((p) => !next.has(p));
        if (missing.length > 0) {
          const earliest = await this.#earliest(missing);
          for (const [p, offset] of earliest) next.set(p, offset);
        }
      }
    } catch (error) {
      if (this.#closed) return;
      throw unavailable(`finding start offsets of group ${this.#options.group}`, error);
    }
    if (epoch !== this.#epoch) return;
    this.#partitions = partitions;
    this.#next = next;
    this.#dropBuffer();
    this.#seekNeeded = false;
  }

  async #earliest(partitions: number[]): Promise<Map<number, bigint>> {
    const { topic } = this.#options;
    const listed = await this.#consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp: ListOffsetTimestamps.EARLIEST });
    const offsets = listed.get(topic) ?? [];
    const result = new Map<number, bigint>();
    for (const p of partitions) result.set(p, offsets[p] ?? 0n);
    return result;
  }

  /**
   * Moves buffered records into `into` while their entries stay within `max` (the first record
   * always goes); true when it stopped after a record that ends the batch, or because the next
   * record would not fit.
   */
  #takeBuffered(into: FetchedRecord[], weighed: { entries: number }, max: number): boolean {
    const endsBatch = this.#options.endsBatch;
    let ended = false;
    let i = this.#bufferHead;
    for (; i < this.#buffer.length && weighed.entries < max; i++) {
      const record = this.#buffer[i] as FetchedRecord;
      const entries = record.entries;
      if (into.length > 0 && weighed.entries + entries > max) {
        ended = true;
        break;
      }
      into.push(record);
      weighed.entries += entries;
      if (endsBatch !== undefined && endsBatch(record)) {
        i++;
        ended = true;
        break;
      }
    }
    this.#bufferHead = i;
    if (this.#bufferHead >= this.#buffer.length) this.#dropBuffer();
    return ended;
  }

  #dropBuffer(): void {
    this.#buffer = [];
    this.#bufferHead = 0;
  }

  /** One fetch round (one request per partition leader); what it returns goes to the buffer. */
  async #fetch(maxWaitMs: number, minBytes: number): Promise<void> {
    const epoch = this.#epoch;
    const { topic } = this.#options;
    try {
      const requested = new Map<number, bigint>(this.#partitions.map((p) => [p, this.#next.get(p) ?? 0n]));
      const responses = await fetchFromLeaders(this.#consumer, topic, requested, {
        maxWaitMs: Math.max(1, Math.ceil(maxWaitMs)),
        minBytes,
        maxBytes: this.#fetchBytes,
        partitionMaxBytes: this.#fetchBytes,
        connectionPool: this.#pool,
      });
      if (epoch !== this.#epoch || this.#closed) return;
      for (const response of responses) this.#accept(response, requested);
    } catch (error) {
      if (this.#closed || epoch !== this.#epoch) return;
      throw unavailable(`fetching ${topic}`, error);
    }
  }

  #accept(response: FetchedTopics, requested: Map<number, bigint>): void {
    const weight = this.#options.weight;
    let bytes = 0;
    let count = 0;
    for (const topic of response.responses) {
      for (const part of topic.partitions) {
        const partition = part.partitionIndex;
        const from = requested.get(partition);
        if (from === undefined) continue;
        if (part.errorCode === OFFSET_OUT_OF_RANGE) {
          // Retention removed what we wanted, or the topic was recreated: restart at its start.
          this.#options.connection.log?.warn({ topic: this.#options.topic, partition, from: String(from), to: String(part.logStartOffset) }, 'kafka: offset out of range, reading from the earliest offset');
          this.#next.set(partition, part.logStartOffset);
          continue;
        }
        let next = from;
        for (const batch of part.records ?? []) {
          const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
          if ((batch.attributes & IS_CONTROL) === 0) {
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < next) continue;
              const entries = weight === undefined ? 1 : weight(record.value);
              this.#buffer.push({ partition, offset: Number(offset), value: record.value, entries });
              bytes += record.value?.length ?? 0;
              count += entries;
            }
          }
          if (after > next) next = after;
        }
        this.#next.set(partition, next);
      }
    }
    if (count > 0) this.#bytesPerEntry = Math.max(16, Math.ceil(bytes / count) + 40);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}

function positionsAfter(records: readonly FetchedRecord[]): StreamPosition[] {
  const after = new Map<number, number>();
  for (const r of records) after.set(r.partition, r.offset + 1);
  return [...after].map(([partition, offset]) => ({ partition, offset }));
}

