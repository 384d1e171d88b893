import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Stage } from './stage.ts';

export interface LoopStep {
  /** Opens what the loop reads from; called again after an error. */
  open(): Promise<void>;
  /** One batch; resolves false when it found nothing to do. */
  step(): Promise<boolean>;
  /** Releases what `open` took. */
  close(): Promise<void>;
}

/**
 * Runs a step in a loop until stopped. An error closes and reopens the step after a growing
 * back-off (up to 2 s): the step resumes from durable positions, so a retry is always safe.
 */
export class LoopStage implements Stage {
  readonly name: string;
  readonly #step: LoopStep;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #stopping = false;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(name: string, step: LoopStep, log: Logger, metrics: Metrics) {
    this.name = name;
    this.#step = step;
    this.#log = log;
    this.#metrics = metrics;
  }

  get running(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    await this.#step.open();
    this.#running = true;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let backoffMs = 50;
    while (!this.#stopping) {
      try {
        await this.#step.step();
        backoffMs = 50;
        // A step on a synchronous store (SQLite) resolves without ever waiting on I/O, so a loop
        // with a backlog would chain batches as microtasks for as long as the backlog lasts, and
        // the thread's timers and messages (the pipeline worker's metrics reports, its stop
        // message) would wait until then: a 30M-event bulk run showed the worker's metrics frozen
        // for minutes. One event-loop turn between batches lets them through.
        await yieldToEventLoop();
      } catch (error) {
        if (this.#stopping) break;
        this.#running = false;
        this.#metrics.stageErrors.inc({ stage: this.name });
        this.#log.warn({ err: error, stage: this.name, retryInMs: backoffMs }, `${this.name}: batch failed, reopening and retrying from the durable position`);
        await this.#step.close().catch(() => undefined);
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 2000);
        try {
          if (!this.#stopping) {
            await this.#step.open();
            this.#running = true;
          }
        } catch (openError) {
          this.#log.warn({ err: openError, stage: this.name }, `${this.name}: reopen failed`);
        }
      }
    }
  }

  /** Lets the step in hand finish (a poll returns within its idle time), then closes. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    this.#running = false;
    await this.#step.close().catch(() => undefined);
  }
}
