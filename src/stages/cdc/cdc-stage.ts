import type { Change } from '../../domain/change.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ChangeCapture } from '../../ports/change-capture.ts';
import type { ChangePublisher } from '../../ports/change-publisher.ts';
import type { LoopStep } from '../loop-stage.ts';

export interface CdcOptions {
  /** Most changes relayed in one batch. */
  readonly maxChanges: number;
  /** How long a poll waits for changes before returning an empty batch. */
  readonly idleMs: number;
}

/**
 * The seed's "DB CDC → Kafka": relays the likes store's captured changes into the change feed.
 * A batch is acknowledged to the database only after the feed made it durable, so a crash
 * redelivers it; changes at or below a partition's greatest published source are skipped, so each
 * change is published once.
 *
 * The step owns the capture's and the publisher's lifecycle: `open` initialises both and `close`
 * closes both, so that after a failed batch the reopened capture redelivers from the last
 * acknowledged position instead of moving on.
 */
export class CdcStep implements LoopStep {
  readonly #capture: ChangeCapture;
  readonly #publisher: ChangePublisher;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #options: CdcOptions;
  /** Per feed partition, the greatest source published there. */
  #published = new Map<number, string>();
  #open = false;

  constructor(deps: { capture: ChangeCapture; publisher: ChangePublisher; metrics: Metrics; log: Logger }, options: CdcOptions) {
    this.#capture = deps.capture;
    this.#publisher = deps.publisher;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
    this.#options = options;
  }

  async open(): Promise<void> {
    await this.#publisher.init();
    this.#published = await this.#publisher.publishedSources();
    await this.#capture.init();
    this.#open = true;
    this.#log.debug({ partitions: this.#published.size }, 'cdc: relaying from the acknowledged position of the replication slot');
  }

  async step(): Promise<boolean> {
    if (!this.#open) throw new Error('cdc: not open');
    const batch = await this.#capture.poll(this.#options.maxChanges, this.#options.idleMs);
    if (batch.changes.length === 0) {
      await batch.ack();
      return false;
    }
    const fresh: Change[] = [];
    const freshSources: string[] = [];
    const newest = new Map<number, string>();
    batch.changes.forEach((change, i) => {
      const source = batch.sources[i];
      if (source === undefined) throw new Error('cdc: a captured change has no source position');
      const partition = this.#publisher.partitionOf(change.postId);
      const published = this.#published.get(partition);
      if (published !== undefined && source <= published) {
        this.#metrics.duplicatesSkipped.inc();
        return;
      }
      fresh.push(change);
      freshSources.push(source);
      newest.set(partition, source);
    });
    if (fresh.length > 0) await this.#publisher.publish(fresh, freshSources);
    for (const [partition, source] of newest) this.#published.set(partition, source);
    await batch.ack();
    this.#metrics.batchSize.observe({ stage: 'cdc' }, fresh.length);
    return true;
  }

  async close(): Promise<void> {
    this.#open = false;
    const results = await Promise.allSettled([this.#capture.close(), this.#publisher.close()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}
