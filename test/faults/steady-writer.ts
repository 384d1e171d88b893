import { setTimeout as sleep } from 'node:timers/promises';
import type { LikesModel } from '../helpers/likes-model.ts';

type Event = { op: 'like' | 'unlike'; postId: string; userId: string };

export interface SteadyWriterOptions {
  /** `bulk`: one POST /v1/events per batch; `single`: one PUT or DELETE per event, in order. */
  readonly mode?: 'bulk' | 'single';
  /** Prefix of this writer's user ids (`<prefix><n>`); writers running at once use disjoint prefixes. */
  readonly userPrefix?: string;
  /** Posts written at a time: `p<n>` for n in a window of this many. */
  readonly posts: number;
  /**
   * The window moves on by one post every this many batches, so posts keep getting their last
   * events: a like or unlike lost or undone around a fault is then never repaired by later ones.
   */
  readonly shiftEvery: number;
  readonly users: number;
  readonly batchSize: number;
  /** Pause after each acknowledged batch, so the load stays one the pipeline can follow. */
  readonly pauseMs: number;
  /** Pause before resending a batch that was not acknowledged. */
  readonly retryPauseMs: number;
  /** A batch not acknowledged within this long fails the writer. */
  readonly inFlightDeadlineMs: number;
  readonly requestTimeoutMs: number;
}

/**
 * A sequential writer: one batch (or one single like or unlike) at a time, the model applied only
 * on 202. A write that got no 202 (an error status, a dropped connection, a timeout, a killed
 * server) stays in flight and is resent until it is acknowledged before the next one: writes are
 * idempotent and nothing of this writer's users came between the copies, so the outcome is
 * exactly the write applied once. `url` is read on every attempt, so a restarted server on a new
 * port is followed.
 */
export class SteadyWriter {
  readonly #url: () => string;
  readonly #model: LikesModel;
  readonly #options: SteadyWriterOptions;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #error: Error | undefined;
  acknowledgedBatches = 0;
  acknowledgedEvents = 0;
  resends = 0;
  /** Failed attempts by outcome (`503`, `TypeError: fetch failed`, ...). */
  readonly failures = new Map<string, number>();
  /** Longest time one batch took from its first attempt to its 202. */
  longestBatchMs = 0;

  constructor(url: string | (() => string), model: LikesModel, options: SteadyWriterOptions) {
    this.#url = typeof url === 'string' ? () => url : url;
    this.#model = model;
    this.#options = options;
  }

  start(): void {
    this.#loop = this.#run().catch((error: unknown) => {
      this.#error = error instanceof Error ? error : new Error(String(error));
    });
  }

  /** Throws what stopped the writer, if it stopped on its own. */
  check(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  /** Finishes the batch in flight (until acknowledged), stops, and throws what failed the writer. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    this.check();
  }

  summary(): string {
    const failures = [...this.failures].map(([k, n]) => `${k}×${n}`).join(', ') || 'none';
    return `${this.#options.mode ?? 'bulk'} writer ${this.#options.userPrefix ?? 'u'}: ${this.acknowledgedBatches} batches (${this.acknowledgedEvents} events) acknowledged, ${this.resends} resends, longest write ${this.longestBatchMs} ms; failed attempts: ${failures}`;
  }

  /** The user ids this writer writes as. */
  userIds(): string[] {
    return Array.from({ length: this.#options.users }, (_, i) => `${this.#options.userPrefix ?? 'u'}${i}`);
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const batch = this.#randomBatch();
      if (this.#options.mode === 'single') {
        for (const event of batch) {
          await this.#sendUntilAccepted([event]);
          this.#model.apply([event]);
        }
      } else {
        await this.#sendUntilAccepted(batch);
        this.#model.apply(batch);
      }
      this.acknowledgedBatches++;
      this.acknowledgedEvents += batch.length;
      if (this.#options.pauseMs > 0) await sleep(this.#options.pauseMs);
    }
  }

  async #sendUntilAccepted(batch: Event[]): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#send(batch);
      if (outcome === '202') {
        this.longestBatchMs = Math.max(this.longestBatchMs, Date.now() - started);
        return;
      }
      this.failures.set(outcome, (this.failures.get(outcome) ?? 0) + 1);
      if (/^4(?!29)/.test(outcome)) throw new Error(`the api refused a valid batch: ${outcome}`);
      if (Date.now() - started > this.#options.inFlightDeadlineMs) {
        throw new Error(`a batch was not acknowledged within ${this.#options.inFlightDeadlineMs} ms (${attempt + 1} attempts, last: ${outcome})`);
      }
      this.resends++;
      await sleep(this.#options.retryPauseMs);
    }
  }

  /** The status as a string, or the error that stood for one. */
  async #send(batch: Event[]): Promise<string> {
    try {
      const signal = AbortSignal.timeout(this.#options.requestTimeoutMs);
      const single = this.#options.mode === 'single' ? batch[0] : undefined;
      const res =
        single !== undefined
          ? await fetch(`${this.#url()}/v1/posts/${single.postId}/likes/${single.userId}`, { method: single.op === 'like' ? 'PUT' : 'DELETE', signal })
          : await fetch(`${this.#url()}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: batch }), signal });
      const body = await res.text();
      return res.status === 202 ? '202' : `${res.status} ${body.slice(0, 200)}`.replace(/"message":"[^"]*"/, '"message":…');
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }

  /** Every post written so far (and those of the current window). */
  postIds(): string[] {
    const end = this.#windowStart() + this.#options.posts;
    return Array.from({ length: end }, (_, i) => `p${i}`);
  }

  #windowStart(): number {
    return Math.floor(this.acknowledgedBatches / this.#options.shiftEvery);
  }

  #randomBatch(): Event[] {
    const { posts, users, batchSize } = this.#options;
    const start = this.#windowStart();
    return Array.from({ length: batchSize }, () => ({
      op: Math.random() < 0.7 ? 'like' : 'unlike',
      postId: `p${start + Math.floor(Math.random() * posts)}`,
      userId: `${this.#options.userPrefix ?? 'u'}${Math.floor(Math.random() * users)}`,
    }));
  }
}

/** Writers running at once over the same posts, each as its own users, seen as one. */
export class WriterGroup {
  readonly writers: readonly SteadyWriter[];

  constructor(writers: readonly SteadyWriter[]) {
    this.writers = writers;
  }

  get acknowledgedBatches(): number {
    return this.writers.reduce((sum, w) => sum + w.acknowledgedBatches, 0);
  }

  get acknowledgedEvents(): number {
    return this.writers.reduce((sum, w) => sum + w.acknowledgedEvents, 0);
  }

  start(): void {
    for (const writer of this.writers) writer.start();
  }

  check(): void {
    for (const writer of this.writers) writer.check();
  }

  async stop(): Promise<void> {
    const results = await Promise.allSettled(this.writers.map((w) => w.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  summary(): string {
    return this.writers.map((w) => w.summary()).join('; ');
  }

  /** Every post any writer wrote so far. */
  postIds(): string[] {
    return [...new Set(this.writers.flatMap((w) => w.postIds()))];
  }

  userIds(): string[] {
    return this.writers.flatMap((w) => w.userIds());
  }
}
