import { BenchHttp } from './http-client.ts';
import { parsePrometheus, serverSample, type ServerSample } from './prometheus.ts';

const PROGRESS_PATH = '/metrics?name=tally_changes_applied_total&name=tally_stage_lag_events';

/**
 * Polls the target's `/metrics` on its own connection: the applied-changes counter (a cheap
 * signal that the pipeline caught up), server CPU seconds and RSS, over time.
 */
export class MetricsSampler {
  readonly #http: BenchHttp;
  readonly #epoch: number;
  readonly samples: ServerSample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(origin: string, epoch: number) {
    this.#http = new BenchHttp(origin, 1);
    this.#epoch = epoch;
  }

  /** Scrapes once now; undefined fields when the target does not expose them. */
  async scrape(): Promise<ServerSample> {
    const sample = await this.#read('/metrics');
    this.samples.push(sample);
    return sample;
  }

  /**
   * The settle loop's poll: only the progress metrics (`/metrics?name=…`; a full scrape costs the
   * server about a millisecond, a single-threaded distributed server 5% of its CPU at 50 polls a
   * second), not kept among the samples. A server that ignores `name=` answers everything.
   */
  progress(): Promise<ServerSample> {
    return this.#read(PROGRESS_PATH);
  }

  /** One GET of `path`, as a sample (no metrics when it does not answer 200). */
  async #read(path: string): Promise<ServerSample> {
    const answer = await this.#http.request('GET', path);
    return serverSample(performance.now() - this.#epoch, answer.status === 200 ? parsePrometheus(answer.text) : new Map<string, number>());
  }

  /** Scrapes every `intervalMs` in the background until {@link stop}. */
  start(intervalMs: number): void {
    this.stop();
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#busy = true;
      this.scrape()
        .catch(() => undefined)
        .finally(() => {
          this.#busy = false;
        });
    }, intervalMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Largest RSS seen, in bytes. */
  maxRss(): number | undefined {
    return maxRss(this.samples);
  }

  async close(): Promise<void> {
    this.stop();
    await this.#http.close();
  }
}

/** The largest RSS among the samples taken from `from` to `to` (ms into the run), in bytes; undefined when none shows one. */
export function maxRss(samples: readonly ServerSample[], from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): number | undefined {
  let max: number | undefined;
  for (const s of samples) if (s.t >= from && s.t <= to && s.rssBytes !== undefined && (max === undefined || s.rssBytes > max)) max = s.rssBytes;
  return max;
}
