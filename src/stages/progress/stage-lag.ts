import type { StreamPosition } from '../../domain/change.ts';
import type { LagStage, LiveMetrics } from '../../observability/live-metrics.ts';

/** A stage's input and progress, each summed over partitions of the stream it reads. */
export interface StageTotals {
  readonly stage: LagStage;
  /** Positions in the stream the stage reads: where it ends. */
  readonly upstream: readonly StreamPosition[];
  /** Positions the stage has applied. */
  readonly done: readonly StreamPosition[];
  /**
   * Entries per position (1 when absent): where a position is a record that may hold many events
   * (Kafka bundles), the estimate of how many it holds, so the lag still counts events.
   */
  readonly perPosition?: number;
}

/** Where the pipeline's progress can be read for lag metrics. */
export interface LagSource {
  stageTotals(): readonly StageTotals[];
}

interface Sample {
  readonly at: number;
  readonly upstream: number;
}

/** Summed lag over partitions: events in `upstream` not yet in `done` (positions times `perPosition`). */
export function lagOf(totals: StageTotals): { upstream: number; lag: number } {
  const done = new Map(totals.done.map((p) => [p.partition, p.offset]));
  let upstream = 0;
  let lag = 0;
  for (const p of totals.upstream) {
    upstream += p.offset;
    lag += Math.max(0, p.offset - (done.get(p.partition) ?? 0));
  }
  const per = totals.perPosition ?? 1;
  return per === 1 ? { upstream, lag } : { upstream: Math.round(upstream * per), lag: Math.round(lag * per) };
}

/**
 * Samples the stages' totals and sets `tally_stage_lag_events` (also at every scrape) and
 * `tally_stage_lag_seconds` (every `everyMs`).
 * The seconds are the age of the oldest waiting item: with U(t) the stage's input total over
 * time and D = U(now) − lag what it has applied, the oldest waiting item arrived when U first
 * exceeded D. Samples cover `historyMs`; an older backlog reads as that age.
 */
export class StageLagSampler {
  readonly #source: LagSource;
  readonly #metrics: LiveMetrics;
  readonly #everyMs: number;
  readonly #historyMs: number;
  readonly #history = new Map<LagStage, Sample[]>();
  #timer: NodeJS.Timeout | undefined;

  constructor(source: LagSource, metrics: LiveMetrics, options: { everyMs?: number; historyMs?: number } = {}) {
    this.#source = source;
    this.#metrics = metrics;
    this.#everyMs = options.everyMs ?? 250;
    this.#historyMs = options.historyMs ?? 600_000;
    // The events waiting are read at every scrape, so a scrape right after the pipeline caught up reads 0.
    metrics.lagAtScrape = () => {
      for (const totals of this.#source.stageTotals()) this.#metrics.lagEvents.set({ stage: totals.stage }, lagOf(totals).lag);
    };
  }

  start(): void {
    this.#timer ??= setInterval(() => this.sample(), this.#everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One sample (the timer calls it; tests may too). */
  sample(now = Date.now()): void {
    for (const totals of this.#source.stageTotals()) {
      const { upstream, lag } = lagOf(totals);
      let samples = this.#history.get(totals.stage);
      if (samples === undefined) this.#history.set(totals.stage, (samples = []));
      samples.push({ at: now, upstream });
      while (samples.length > 2 && (samples[0]?.at ?? now) < now - this.#historyMs) samples.shift();
      this.#metrics.lagEvents.set({ stage: totals.stage }, lag);
      this.#metrics.lagSeconds.set({ stage: totals.stage }, lag === 0 ? 0 : (now - this.#oldestWaiting(samples, upstream - lag)) / 1000);
    }
  }

  #oldestWaiting(samples: readonly Sample[], done: number): number {
    // The first sample whose input exceeded what is done; the waiting item arrived after the sample before it.
    let lo = 0;
    let hi = samples.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((samples[mid]?.upstream ?? 0) > done) hi = mid;
      else lo = mid + 1;
    }
    return samples[lo]?.at ?? Date.now();
  }
}
