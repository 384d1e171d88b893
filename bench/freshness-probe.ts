import { setTimeout as sleep } from 'node:timers/promises';
import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram, recordMs } from './histogram.ts';
import { BenchHttp } from './http-client.ts';

/** One freshness measurement: at `t` ms into the run, a like took `ms` from its 2xx to a visible count. */
export interface FreshnessSample {
  readonly t: number;
  readonly ms: number;
  readonly phase: string;
}

const PAUSE_MS = 25;

/**
 * Measures freshness while other phases load the server: likes a dedicated post as a new user,
 * then reads its count until the like shows, on a connection of its own, again and again.
 */
export class FreshnessProbe {
  readonly #http: BenchHttp;
  readonly #epoch: number;
  readonly #post: string;
  readonly #timeoutMs: number;
  readonly histogram: Histogram = latencyHistogram();
  readonly samples: FreshnessSample[] = [];
  /** Probe likes acknowledged so far: the probe post's expected count. */
  likes = 0;
  timeouts = 0;
  #loop: Promise<void> | undefined;
  #running = false;

  constructor(origin: string, epoch: number, post: string, timeoutMs: number) {
    this.#http = new BenchHttp(origin, 1);
    this.#epoch = epoch;
    this.#post = post;
    this.#timeoutMs = timeoutMs;
  }

  get post(): string {
    return this.#post;
  }

  start(phase: string): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run(phase);
  }

  /** Stops after the probe in flight is measured. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#loop = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#http.close();
  }

  async #run(phase: string): Promise<void> {
    while (this.#running) {
      const target = this.likes + 1;
      await this.#http.expectOk('PUT', `/v1/posts/${this.#post}/likes/v${target}`);
      this.likes = target;
      const acknowledged = performance.now();
      const deadline = acknowledged + this.#timeoutMs;
      for (;;) {
        const answer = await this.#http.expectOk('GET', `/v1/posts/${this.#post}/count`);
        const now = performance.now();
        if ((JSON.parse(answer.text) as { count: number }).count >= target) {
          recordMs(this.histogram, now - acknowledged);
          this.samples.push({ t: acknowledged - this.#epoch, ms: now - acknowledged, phase });
          break;
        }
        if (now > deadline) {
          this.timeouts++;
          recordMs(this.histogram, now - acknowledged);
          this.samples.push({ t: acknowledged - this.#epoch, ms: now - acknowledged, phase });
          break;
        }
      }
      await sleep(PAUSE_MS);
    }
  }
}
