import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamPosition } from '../../domain/change.ts';
import type { Logger } from '../../observability/logger.ts';
import type { PipelineProgress } from '../../ports/pipeline-progress.ts';
import type { ProgressProbes } from '../../ports/progress-probes.ts';
import { lagOf, type LagSource, type StageTotals } from './stage-lag.ts';

export interface PollingProgressOptions {
  /** Pause between two probes while waiting. */
  readonly pollMs: number;
  /** How often the ingest lag is refreshed for back-pressure. */
  readonly lagRefreshMs: number;
  /** At most one log line per this many ms about failed lag refreshes (default 30 s). */
  readonly failureLogMs?: number;
  /**
   * Events per position of the log and of the feed (1 each when absent): where positions count
   * records that bundle several events, the lag in events is estimated from them.
   */
  readonly perPosition?: () => { readonly log: number; readonly feed: number };
}

/**
 * Pipeline progress when the stages run in other processes. A write is applied once (1) ingest
 * committed past it, so its rows are in the source; then, with M the source's position at that
 * moment, (2) the relay published every change before M into the feed, and (3) the counter
 * applied the feed up to where it ended at that point.
 */
export class PollingProgress implements PipelineProgress, LagSource {
  readonly #probes: ProgressProbes;
  readonly #options: PollingProgressOptions;
  readonly #log: Logger;
  #lag = 0;
  #totals: StageTotals[] = [];
  #timer: NodeJS.Timeout | undefined;
  #failuresSinceLog = 0;
  #lastFailureLog = Number.NEGATIVE_INFINITY;
  #refreshedAt = Date.now();

  constructor(probes: ProgressProbes, options: PollingProgressOptions, log: Logger) {
    this.#probes = probes;
    this.#options = options;
    this.#log = log;
  }

  /** Starts refreshing the ingest lag in the background. */
  start(): void {
    const refresh = (): void => {
      void Promise.all([this.#probes.logEnds(), this.#probes.ingestCommitted(), this.#probes.feedEnds(), this.#probes.counterApplied()])
        .then(([ends, committed, feedEnds, applied]) => {
          const per = this.#options.perPosition?.() ?? { log: 1, feed: 1 };
          const ingest: StageTotals = { stage: 'ingest', upstream: ends, done: committed, perPosition: per.log };
          this.#lag = lagOf(ingest).lag;
          this.#refreshedAt = Date.now();
          this.#totals = [ingest, { stage: 'counter', upstream: feedEnds, done: applied, perPosition: per.feed }];
        })
        .catch((error: unknown) => this.#refreshFailed(error));
    };
    refresh();
    this.#timer = setInterval(refresh, this.#options.lagRefreshMs);
    this.#timer.unref();
  }

  /** Back-pressure then acts on a stale lag: say so, at most once per interval. */
  #refreshFailed(error: unknown): void {
    this.#failuresSinceLog++;
    const now = Date.now();
    if (now - this.#lastFailureLog < (this.#options.failureLogMs ?? 30_000)) return;
    this.#log.warn(
      { err: error, failures: this.#failuresSinceLog, lag: this.#lag, lagAgeMs: now - this.#refreshedAt },
      'could not refresh the ingest lag; back-pressure acts on the last known value until it succeeds',
    );
    this.#lastFailureLog = now;
    this.#failuresSinceLog = 0;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Ingest's and the counter's input and progress at the last refresh, for the lag metrics. */
  stageTotals(): readonly StageTotals[] {
    return this.#totals;
  }

  ingestLag(): number {
    return this.#lag;
  }

  async waitApplied(logPositions: readonly StreamPosition[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const until = async (reached: () => Promise<boolean>): Promise<boolean> => {
      while (!(await reached())) {
        if (Date.now() >= deadline) return false;
        await sleep(this.#options.pollMs);
      }
      return true;
    };
    if (!(await until(async () => covers(await this.#probes.ingestCommitted(), logPositions)))) return false;
    const mark = await this.#probes.sourceMark();
    const relayCovers = this.#probes.relayCovers ?? ((confirmed: string, m: string) => confirmed >= m);
    if (!(await until(async () => relayCovers(await this.#probes.relayConfirmed(), mark)))) return false;
    const feedEnds = await this.#probes.feedEnds();
    return until(async () => covers(await this.#probes.counterApplied(), feedEnds));
  }
}

function covers(have: readonly StreamPosition[], want: readonly StreamPosition[]): boolean {
  const map = new Map(have.map((p) => [p.partition, p.offset]));
  return want.every((p) => (map.get(p.partition) ?? 0) >= p.offset);
}
