import type { StreamPosition } from '../../domain/change.ts';
import type { CounterStore } from '../../ports/counter-store.ts';
import type { ProgressProbes } from '../../ports/progress-probes.ts';
import type { SourceProgress } from '../../ports/source-progress.ts';
import type { StreamProgress } from '../../ports/stream-progress.ts';

/**
 * The progress probes of a distributed pipeline, put together from the ports that know each part:
 * the streams (log ends, ingest's commits, feed ends), the store profile's source (its change
 * position and the relay's), and the counter store (the feed positions it applied).
 */
export class PipelineProbes implements ProgressProbes {
  readonly #streams: StreamProgress;
  readonly #source: SourceProgress;
  readonly #counters: Pick<CounterStore, 'positions'>;
  readonly relayCovers?: (confirmed: string, mark: string) => boolean;

  constructor(streams: StreamProgress, source: SourceProgress, counters: Pick<CounterStore, 'positions'>) {
    this.#streams = streams;
    this.#source = source;
    this.#counters = counters;
    if (source.relayCovers !== undefined) this.relayCovers = source.relayCovers;
  }

  ingestCommitted(): Promise<StreamPosition[]> {
    return this.#streams.committed('ingest');
  }

  logEnds(): Promise<StreamPosition[]> {
    return this.#streams.logEnds();
  }

  sourceMark(): Promise<string> {
    return this.#source.sourceMark();
  }

  relayConfirmed(): Promise<string> {
    return this.#source.relayConfirmed();
  }

  feedEnds(): Promise<StreamPosition[]> {
    return this.#streams.feedEnds();
  }

  counterApplied(): Promise<StreamPosition[]> {
    return this.#counters.positions();
  }
}
