import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Stages whose lag is measured: events waiting before them, and for how long. */
export type LagStage = 'ingest' | 'counter';

/**
 * The metrics of live counts and of the pipeline's progress, as the api process sees them:
 * streams, per-stage lag, freshness. Registered on the process's registry, so `/metrics` shows them.
 */
export class LiveMetrics {
  readonly open: Gauge;
  readonly events: Counter;
  readonly dropped: Counter;
  readonly refused: Counter;
  readonly lagEvents: Gauge<'stage'>;
  readonly lagSeconds: Gauge<'stage'>;
  readonly freshness: Histogram;
  readonly writerRss: Gauge;
  readonly writerAnonymous: Gauge;
  readonly writerCpu: Counter;
  /** Sets `lagEvents` from the progress as it is now; called at every scrape (the stage lag sampler's). */
  lagAtScrape: (() => void) | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.open = new Gauge({ name: 'tally_streams_open', help: 'Live count streams (SSE) open on this api process', registers });
    this.events = new Counter({ name: 'tally_stream_events_total', help: 'Count events sent on live streams', registers });
    this.dropped = new Counter({ name: 'tally_streams_dropped_total', help: 'Live streams dropped because the client fell behind', registers });
    this.refused = new Counter({ name: 'tally_streams_refused_total', help: 'Live streams refused with too_many_streams', registers });
    this.lagEvents = new Gauge({
      name: 'tally_stage_lag_events',
      help: 'Events (ingest) or changes (counter) waiting for the stage, as of the scrape',
      labelNames: ['stage'],
      registers,
      collect: () => this.lagAtScrape?.(),
    });
    this.lagSeconds = new Gauge({
      name: 'tally_stage_lag_seconds',
      help: 'Age of the oldest event or change waiting for the stage (0 when caught up)',
      labelNames: ['stage'],
      registers,
    });
    this.freshness = new Histogram({
      name: 'tally_freshness_seconds',
      help: "From a like's 202 on this api process to the first count change of its post that this process hears of",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.writerRss = new Gauge({ name: 'tally_stream_writer_resident_memory_bytes', help: "The stream writer process's resident memory (--stream-writer process; 0 while it is not running)", registers });
    this.writerAnonymous = new Gauge({
      name: 'tally_stream_writer_anonymous_memory_bytes',
      help: "The stream writer process's anonymous resident memory (Linux RssAnon: heaps, stacks, buffers; its RSS elsewhere), which no other process holds: with the api process's RSS, what the two take together",
      registers,
    });
    this.writerCpu = new Counter({ name: 'tally_stream_writer_cpu_seconds_total', help: 'CPU time (user and system) the stream writer processes have used', registers });
  }
}
