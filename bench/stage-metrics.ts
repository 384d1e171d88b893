import { parsePrometheus } from './prometheus.ts';
import type { ServerSample } from './prometheus.ts';
import type { StageTarget } from './target.ts';

/** One scrape of every stage process of a scaled-out target. */
export interface StagesSample {
  /** Events applied by each ingest process, in the target's order. */
  readonly ingested: readonly number[];
  /** Changes applied by each counter process, in the target's order. */
  readonly applied: readonly number[];
  /** CPU seconds of every stage process together. */
  readonly cpuSeconds: number;
  /** CPU seconds of each ingest and each counter process, in the target's order. */
  readonly ingestCpu: readonly number[];
  readonly counterCpu: readonly number[];
}

/**
 * Reads the stages' own metrics (`tally_events_ingested_total` of each ingest process,
 * `tally_changes_applied_total` of each counter process) from a scaled-out target.
 */
export class StageMetrics {
  readonly #stages: readonly StageTarget[];
  readonly #epoch: number;

  constructor(stages: readonly StageTarget[], epoch: number) {
    this.#stages = stages;
    this.#epoch = epoch;
  }

  async sample(): Promise<StagesSample> {
    const scraped = await Promise.all(
      this.#stages.map(async (stage) => {
        const answer = await fetch(stage.metricsUrl, { signal: AbortSignal.timeout(10_000) });
        return { stage, metrics: parsePrometheus(await answer.text()) };
      }),
    );
    const of = (kind: StageTarget['kind'], name: string): number[] => scraped.filter((s) => s.stage.kind === kind).map((s) => s.metrics.get(name) ?? 0);
    return {
      ingested: of('ingest', 'tally_events_ingested_total'),
      applied: of('counter', 'tally_changes_applied_total'),
      // An api process's stream writer process (`--stream-writer process`) counts with it.
      cpuSeconds: scraped.reduce((sum, s) => sum + (s.metrics.get('process_cpu_seconds_total') ?? 0) + (s.metrics.get('tally_stream_writer_cpu_seconds_total') ?? 0), 0),
      ingestCpu: of('ingest', 'process_cpu_seconds_total'),
      counterCpu: of('counter', 'process_cpu_seconds_total'),
    };
  }

  /** The settle loop's view: the counters' applied changes summed (what one process would expose). */
  progress(): Promise<ServerSample> {
    return this.scrape();
  }

  /** The same, as a sample. */
  async scrape(): Promise<ServerSample> {
    const sample = await this.sample();
    return {
      t: performance.now() - this.#epoch,
      changesApplied: sample.applied.reduce((a, b) => a + b, 0),
      eventsIngested: sample.ingested.reduce((a, b) => a + b, 0),
      cpuSeconds: sample.cpuSeconds,
      rssBytes: undefined,
      ingestBatches: undefined,
      ingestItems: undefined,
      counterBatches: undefined,
      counterItems: undefined,
      // Each process shows only its own stages' lag: the settle loop goes by the counts instead.
      ingestLag: undefined,
      counterLag: undefined,
      gcSeconds: undefined,
      gcPausesOver10ms: undefined,
    };
  }
}

/** Each process's fraction of what all did between two samples (rounded to 3 digits). */
export function shares(before: readonly number[], after: readonly number[]): number[] {
  const deltas = after.map((value, i) => Math.max(0, value - (before[i] ?? 0)));
  const total = deltas.reduce((a, b) => a + b, 0);
  return deltas.map((d) => (total === 0 ? 0 : Math.round((d / total) * 1000) / 1000));
}

/** What each process used between two samples, rounded to 10 ms. */
export function deltas(before: readonly number[], after: readonly number[]): number[] {
  return after.map((value, i) => Math.round((value - (before[i] ?? 0)) * 100) / 100);
}
