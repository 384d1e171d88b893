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
 * Between two reads of the probe's count: this share of the time waited so far, 1 to 10 ms. A
 * figure is then late by at most 1 ms or 2%, whichever is more, while a backlog of seconds costs
 * ~100 reads/s. A read loop without pauses made thousands a second during bulk, which took ≈ 20%
 * of the server's CPU and most of the load generator's from the phase it measured (BENCHMARKS.md).
 */
const REREAD_SHARE = 0.02;
const REREAD_MIN_MS = 1;
const REREAD_MAX_MS = 10;

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
  /** Reads of the count that did not show the like yet. */
  reads = 0;
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
        this.reads++;
        await sleep(Math.min(REREAD_MAX_MS, Math.max(REREAD_MIN_MS, (now - acknowledged) * REREAD_SHARE)));
      }
      await sleep(PAUSE_MS);
    }
  }
}
