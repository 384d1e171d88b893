import type { StreamPosition } from '../../domain/change.ts';
import type { PipelineProgress } from '../../ports/pipeline-progress.ts';
import type { ProgressSink } from './progress-sink.ts';
import type { LagSource, StageTotals } from './stage-lag.ts';

interface Waiter {
  readonly log: readonly StreamPosition[];
  /** Set once ingest has applied every event before `log`: the feed positions its changes end at. */
  feed: readonly StreamPosition[] | undefined;
  readonly resolve: (applied: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Pipeline progress when every stage runs in this process: ingest reports which log positions
 * it applied and where the change feed stood after them; the counter reports applied feed
 * positions. A write waiting for `applied` is released when both have passed it.
 */
export class InProcessProgress implements PipelineProgress, ProgressSink, LagSource {
  readonly #appended = new Map<number, number>();
  readonly #ingested = new Map<number, number>();
  readonly #applied = new Map<number, number>();
  /** Where the change feed stood after the latest ingest batch; a waiter arriving late targets it. */
  readonly #feedAfterIngest = new Map<number, number>();
  readonly #waiters = new Set<Waiter>();

  appended(positions: readonly StreamPosition[]): void {
    advance(this.#appended, positions);
  }

  ingested(logPositions: readonly StreamPosition[], feedPositions: readonly StreamPosition[] | undefined): void {
    advance(this.#ingested, logPositions);
    advance(this.#appended, logPositions);
    if (feedPositions !== undefined) advance(this.#feedAfterIngest, feedPositions);
    for (const waiter of this.#waiters) {
      if (waiter.feed === undefined && reached(this.#ingested, waiter.log)) {
        waiter.feed = this.#feedTarget();
        this.#check(waiter);
      }
    }
  }

  counted(feedPositions: readonly StreamPosition[]): void {
    advance(this.#applied, feedPositions);
    for (const waiter of this.#waiters) this.#check(waiter);
  }

  ingestLag(): number {
    let lag = 0;
    for (const [partition, offset] of this.#appended) lag += Math.max(0, offset - (this.#ingested.get(partition) ?? 0));
    return lag;
  }

  waitApplied(logPositions: readonly StreamPosition[], timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        log: logPositions,
        feed: undefined,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
      if (reached(this.#ingested, logPositions)) waiter.feed = this.#feedTarget();
      this.#check(waiter);
    });
  }

  /** Once ingest has applied a write, the counter has counted it when it reaches where the feed stood after ingest's latest batch. */
  #feedTarget(): StreamPosition[] {
    return [...this.#feedAfterIngest].map(([partition, offset]) => ({ partition, offset }));
  }

  #check(waiter: Waiter): void {
    if (waiter.feed !== undefined && reached(this.#applied, waiter.feed)) {
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
      waiter.resolve(true);
    }
  }

  /** Resolves true once the counter has applied everything ingest has produced so far. */
  waitDrained(timeoutMs: number): Promise<boolean> {
    return this.waitApplied([...this.#ingested].map(([partition, offset]) => ({ partition, offset })), timeoutMs);
  }

  /** Ingest's and the counter's input and progress, for the lag metrics. */
  stageTotals(): StageTotals[] {
    return [
      { stage: 'ingest', upstream: positions(this.#appended), done: positions(this.#ingested) },
      { stage: 'counter', upstream: positions(this.#feedAfterIngest), done: positions(this.#applied) },
    ];
  }

  /** Releases every waiter as not applied (shutdown). */
  close(): void {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiters.clear();
  }
}

function positions(map: Map<number, number>): StreamPosition[] {
  return [...map].map(([partition, offset]) => ({ partition, offset }));
}

function advance(map: Map<number, number>, positions: readonly StreamPosition[]): void {
  for (const { partition, offset } of positions) {
    if (offset > (map.get(partition) ?? 0)) map.set(partition, offset);
  }
}

function reached(map: Map<number, number>, targets: readonly StreamPosition[]): boolean {
  return targets.every(({ partition, offset }) => (map.get(partition) ?? 0) >= offset);
}
