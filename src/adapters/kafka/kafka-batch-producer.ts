import type { Producer } from '@platformatic/kafka';
import { startIdempotentProducer, unavailable, type KafkaConnection } from './kafka-client.ts';

/**
 * A message for one topic, with its partition chosen by the caller: a record of its own, keyed,
 * or JSON text that may share an unkeyed record with the bundle messages next to it in its
 * partition (see `recordEntries`).
 */
export type OutgoingMessage =
  | { readonly partition: number; readonly key: Buffer; readonly value: Buffer | string; readonly bundle?: false }
  | { readonly partition: number; readonly value: string; readonly bundle: true };

/** For each partition a send wrote to: the offset just after its last message there. */
export type SentOffsets = Map<number, number>;

/**
 * One record of a produce request: a message on its own, or a bundle of messages of one partition
 * whose value is the JSON array of their values, with no key.
 */
interface OutgoingRecord {
  readonly partition: number;
  readonly key: Buffer | null;
  value: Buffer | string;
  /** The values of a bundle, in order; undefined for a message on its own. */
  readonly parts?: string[];
  /** The sends whose messages the record holds, each with how many; in order. */
  readonly owners: { send: PendingSend; count: number }[];
}

interface PendingSend {
  readonly messages: readonly OutgoingMessage[];
  /** Messages already handed to a produce request. */
  taken: number;
  acked: number;
  settled: boolean;
  readonly after: SentOffsets;
  readonly resolve: (offsets: SentOffsets) => void;
  readonly reject: (error: unknown) => void;
}

export interface BatchProducerOptions {
  /**
   * Bytes of one partition in one produce request. A partition's messages form one record
   * batch, which the broker refuses beyond `max.message.bytes` (1 MiB by default).
   */
  readonly partitionBudgetBytes?: number;
  /** Bytes of one produce request. */
  readonly requestBudgetBytes?: number;
  /**
   * Most messages one record may hold (1 by default: a record per message). Above 1, messages
   * marked `bundle` that are next to each other in a partition's part of a request share a
   * record: value `[v1,v2,...]`, no key. The producer's cost is per record, not per byte.
   */
  readonly recordEntries?: number;
}

/** Weight of the past in `messagesPerRecord`, per request. */
const DECAY = 0.9;

/** Record overhead beside key and value (varints, attributes, deltas, headers count). */
const RECORD_OVERHEAD = 24;

/**
 * Group commit over an idempotent producer: sends that arrive while a produce request is in
 * flight (or in the same event-loop turn) go together in the next request. One request is in
 * flight at a time, which is what the idempotent producer allows per connection anyway, and it
 * keeps each partition's messages in send order. A send resolves once the broker acknowledged
 * all its messages; a failed request rejects every send it carried and drops their remaining
 * messages, so a send is never half written across two requests with a hole between them.
 */
export class KafkaBatchProducer {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #partitionBudget: number;
  readonly #requestBudget: number;
  readonly #recordEntries: number;
  #queue: PendingSend[] = [];
  #queuedMessages = 0;
  #inFlight = false;
  #scheduled = false;
  #idle: (() => void)[] = [];
  /** Messages and records of recent requests, each decayed by DECAY per request. */
  #recentMessages = 0;
  #recentRecords = 0;

  /** Starts an idempotent producer (`role` names it to the broker) and batches sends to `topic` through it. */
  static async start(connection: KafkaConnection, role: string, topic: string, options: BatchProducerOptions = {}): Promise<KafkaBatchProducer> {
    return new KafkaBatchProducer(await startIdempotentProducer(connection, role), topic, options);
  }

  constructor(producer: Producer, topic: string, options: BatchProducerOptions = {}) {
    this.#producer = producer;
    this.#topic = topic;
    this.#partitionBudget = options.partitionBudgetBytes ?? 900_000;
    this.#requestBudget = options.requestBudgetBytes ?? 16_000_000;
    this.#recordEntries = options.recordEntries ?? 1;
  }

  /** Messages handed to `send` and not yet acknowledged or failed. */
  get pending(): number {
    return this.#queuedMessages;
  }

  send(messages: readonly OutgoingMessage[]): Promise<SentOffsets> {
    if (messages.length === 0) return Promise.resolve(new Map<number, number>());
    return new Promise((resolve, reject) => {
      this.#queue.push({ messages, taken: 0, acked: 0, settled: false, after: new Map(), resolve, reject });
      this.#queuedMessages += messages.length;
      this.#schedule();
    });
  }

  /** Messages per record in recent requests (1 before the first, and without bundles). */
  get messagesPerRecord(): number {
    return this.#recentRecords === 0 ? 1 : this.#recentMessages / this.#recentRecords;
  }

  /** Resolves once every send handed in so far has settled. */
  async drain(): Promise<void> {
    if (this.#queuedMessages === 0 && !this.#inFlight) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Lets every send handed in so far settle, then closes the producer. */
  async close(): Promise<void> {
    await this.drain();
    await this.#producer.close();
  }

  #schedule(): void {
    if (this.#inFlight || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /**
   * Takes messages from the head of the queue, in order, within the byte budgets, into records:
   * bundle messages join their partition's open bundle until it is full or a message on its own
   * comes in that partition (so each partition's order is kept).
   */
  #take(): { sends: PendingSend[]; records: OutgoingRecord[] } {
    const sends: PendingSend[] = [];
    const records: OutgoingRecord[] = [];
    const open = new Map<number, OutgoingRecord>();
    const partitionBytes = new Map<number, number>();
    let requestBytes = 0;
    while (this.#queue.length > 0) {
      const send = this.#queue[0] as PendingSend;
      let full = false;
      while (send.taken < send.messages.length) {
        const message = send.messages[send.taken] as OutgoingMessage;
        const bundles = message.bundle === true && this.#recordEntries > 1;
        let bundle = bundles ? open.get(message.partition) : undefined;
        const joins = bundle !== undefined && (bundle.parts as string[]).length < this.#recordEntries;
        const bytes = typeof message.value === 'string' ? Buffer.byteLength(message.value) : message.value.length;
        const size = joins ? bytes + 1 : (message.bundle === true ? 0 : message.key.length) + bytes + RECORD_OVERHEAD;
        const inPartition = partitionBytes.get(message.partition) ?? 0;
        if (records.length > 0 && (inPartition + size > this.#partitionBudget || requestBytes + size > this.#requestBudget)) {
          full = true;
          break;
        }
        partitionBytes.set(message.partition, inPartition + size);
        requestBytes += size;
        if (bundles) {
          if (!joins) {
            bundle = { partition: message.partition, key: null, value: message.value, parts: [], owners: [] };
            open.set(message.partition, bundle);
            records.push(bundle);
          }
          const record = bundle as OutgoingRecord;
          (record.parts as string[]).push(message.value);
          const last = record.owners[record.owners.length - 1];
          if (last?.send === send) last.count++;
          else record.owners.push({ send, count: 1 });
        } else {
          open.delete(message.partition);
          records.push({ partition: message.partition, key: message.bundle === true ? null : message.key, value: message.value, owners: [{ send, count: 1 }] });
        }
        send.taken++;
      }
      if (sends[sends.length - 1] !== send) sends.push(send);
      if (full) break;
      this.#queue.shift();
    }
    for (const record of records) if (record.parts !== undefined) record.value = `[${record.parts.join(',')}]`;
    return { sends, records };
  }

  async #flush(): Promise<void> {
    const { sends, records } = this.#take();
    if (records.length === 0) return this.#afterFlush();
    this.#inFlight = true;
    this.#recentRecords = this.#recentRecords * DECAY + records.length;
    this.#recentMessages = this.#recentMessages * DECAY + records.reduce((sum, r) => sum + (r.parts?.length ?? 1), 0);
    try {
      const result = await this.#producer.send({
        messages: records.map((r) => ({ topic: this.#topic, partition: r.partition, key: r.key ?? undefined, value: typeof r.value === 'string' ? Buffer.from(r.value) : r.value })),
      });
      const base = new Map<number, number>();
      for (const o of result.offsets ?? []) if (o.topic === this.#topic) base.set(o.partition, Number(o.offset));
      const index = new Map<number, number>();
      for (const record of records) {
        const start = base.get(record.partition);
        const at = index.get(record.partition) ?? 0;
        index.set(record.partition, at + 1);
        for (const { send, count } of record.owners) {
          if (start !== undefined) send.after.set(record.partition, start + at + 1);
          send.acked += count;
          this.#queuedMessages -= count;
          if (!send.settled && send.acked === send.messages.length) {
            send.settled = true;
            send.resolve(send.after);
          }
        }
      }
    } catch (cause) {
      const error = unavailable('producing to ' + this.#topic, cause);
      for (const send of sends) this.#fail(send, error);
    } finally {
      this.#inFlight = false;
    }
    this.#afterFlush();
  }

  #fail(send: PendingSend, error: unknown): void {
    if (send.settled) return;
    send.settled = true;
    this.#queuedMessages -= send.messages.length - send.acked;
    // Its remaining messages must not be written after the hole this failure left.
    send.acked = send.messages.length;
    send.taken = send.messages.length;
    const at = this.#queue.indexOf(send);
    if (at >= 0) this.#queue.splice(at, 1);
    send.reject(error);
  }

  #afterFlush(): void {
    if (this.#queue.length > 0) {
      this.#schedule();
      return;
    }
    if (this.#queuedMessages === 0 && !this.#inFlight) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }
}
