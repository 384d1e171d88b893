import type { Change } from '../../../src/domain/change.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import type { CapturedBatch, ChangeCapture } from '../../../src/ports/change-capture.ts';
import type { ChangePublisher } from '../../../src/ports/change-publisher.ts';

/** An in-memory change feed: what a publisher made durable, per partition. */
export class FakePublisher implements ChangePublisher {
  readonly partitions: { change: Change; source: string }[][];
  /** Set to make the next publish fail (after writing `failAfter` of its changes, like a broker dying mid-batch). */
  failNext: { afterWriting: number } | undefined;
  inits = 0;
  closes = 0;

  /** A new feed of `partitions` partitions, or a publisher of an existing one's (a restarted relay). */
  constructor(partitions: number | FakePublisher) {
    this.partitions = typeof partitions === 'number' ? Array.from({ length: partitions }, () => []) : partitions.partitions;
  }

  async init(): Promise<void> {
    this.inits++;
  }

  async close(): Promise<void> {
    this.closes++;
  }

  partitionOf(postId: string): number {
    return partitionOf(postId, this.partitions.length);
  }

  async publish(changes: readonly Change[], sources: readonly string[]): Promise<void> {
    if (changes.length !== sources.length) throw new Error(`publish: ${changes.length} changes but ${sources.length} sources`);
    const fail = this.failNext;
    this.failNext = undefined;
    for (let i = 0; i < changes.length; i++) {
      if (fail !== undefined && i >= fail.afterWriting) throw new Error('fake broker: publish failed');
      const change = changes[i] as Change;
      this.partitions[this.partitionOf(change.postId)]?.push({ change, source: sources[i] as string });
    }
    if (fail !== undefined) throw new Error('fake broker: acknowledgement lost');
  }

  async publishedSources(): Promise<Map<number, string>> {
    const sources = new Map<number, string>();
    this.partitions.forEach((records, partition) => {
      const last = records.at(-1);
      if (last !== undefined) sources.set(partition, last.source);
    });
    return sources;
  }

  /** Every published change, in publish order per partition, partitions concatenated. */
  all(): { change: Change; source: string }[] {
    return this.partitions.flat();
  }
}

/**
 * An in-memory replication slot: changes are redelivered from the last acknowledged one after a
 * close and init, the way PostgreSQL redelivers from confirmed_flush_lsn.
 */
export class FakeCapture implements ChangeCapture {
  readonly log: { change: Change; source: string }[] = [];
  acknowledged = 0;
  #next = 0;
  #open = false;
  inits = 0;

  add(...changes: Change[]): void {
    for (const change of changes) this.log.push({ change, source: String(this.log.length).padStart(8, '0') });
  }

  async init(): Promise<void> {
    this.inits++;
    this.#open = true;
    this.#next = this.acknowledged;
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  async poll(maxChanges: number): Promise<CapturedBatch> {
    if (!this.#open) throw new Error('fake capture: not open');
    const slice = this.log.slice(this.#next, this.#next + maxChanges);
    this.#next += slice.length;
    const end = this.#next;
    return {
      changes: slice.map((r) => r.change),
      sources: slice.map((r) => r.source),
      ack: async () => {
        this.acknowledged = Math.max(this.acknowledged, end);
      },
    };
  }
}
