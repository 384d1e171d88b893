import type { Producer } from '@platformatic/kafka';
import { startIdempotentProducer, unavailable, type KafkaConnection } from './kafka-client.ts';

/** A message for one topic, with its partition chosen by the caller. */
export interface OutgoingMessage {
  readonly partition: number;
  readonly key: Buffer;
  readonly value: Buffer;
}

/** For each partition a send wrote to: the offset just after its last message there. */
export type SentOffsets = Map<number, number>;

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
}

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
  #queue: PendingSend[] = [];
  #queuedMessages = 0;
  #inFlight = false;
  #scheduled = false;
  #idle: (() => void)[] = [];

  /** Starts an idempotent producer (`role` names it to the broker) and batches sends to `topic` through it. */
  static async start(connection: KafkaConnection, role: string, topic: string, options: BatchProducerOptions = {}): Promise<KafkaBatchProducer> {
    return new KafkaBatchProducer(await startIdempotentProducer(connection, role), topic, options);
  }

  constructor(producer: Producer, topic: string, options: BatchProducerOptions = {}) {
    this.#producer = producer;
    this.#topic = topic;
    this.#partitionBudget = options.partitionBudgetBytes ?? 900_000;
    this.#requestBudget = options.requestBudgetBytes ?? 16_000_000;
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

  /** Takes messages from the head of the queue, in order, within the byte budgets. */
  #take(): { sends: PendingSend[]; messages: OutgoingMessage[]; owners: PendingSend[] } {
    const sends: PendingSend[] = [];
    const messages: OutgoingMessage[] = [];
    const owners: PendingSend[] = [];
    const partitionBytes = new Map<number, number>();
    let requestBytes = 0;
    while (this.#queue.length > 0) {
      const send = this.#queue[0] as PendingSend;
      let full = false;
      while (send.taken < send.messages.length) {
        const message = send.messages[send.taken] as OutgoingMessage;
        const size = message.key.length + message.value.length + RECORD_OVERHEAD;
        const inPartition = partitionBytes.get(message.partition) ?? 0;
        if (messages.length > 0 && (inPartition + size > this.#partitionBudget || requestBytes + size > this.#requestBudget)) {
          full = true;
          break;
        }
        partitionBytes.set(message.partition, inPartition + size);
        requestBytes += size;
        messages.push(message);
        owners.push(send);
        send.taken++;
      }
      if (sends[sends.length - 1] !== send) sends.push(send);
      if (full) break;
      this.#queue.shift();
    }
    return { sends, messages, owners };
  }

  async #flush(): Promise<void> {
    const { sends, messages, owners } = this.#take();
    if (messages.length === 0) return this.#afterFlush();
    this.#inFlight = true;
    try {
      const result = await this.#producer.send({
        messages: messages.map((m) => ({ topic: this.#topic, partition: m.partition, key: m.key, value: m.value })),
      });
      const base = new Map<number, number>();
      for (const o of result.offsets ?? []) if (o.topic === this.#topic) base.set(o.partition, Number(o.offset));
      const index = new Map<number, number>();
      messages.forEach((message, m) => {
        const owner = owners[m] as PendingSend;
        const start = base.get(message.partition);
        if (start !== undefined) {
          const at = index.get(message.partition) ?? 0;
          index.set(message.partition, at + 1);
          owner.after.set(message.partition, start + at + 1);
        }
        owner.acked++;
        this.#queuedMessages--;
        if (!owner.settled && owner.acked === owner.messages.length) {
          owner.settled = true;
          owner.resolve(owner.after);
        }
      });
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
