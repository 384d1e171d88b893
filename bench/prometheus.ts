/**
 * Parses Prometheus text exposition into `name` or `name{labels}` → value (comments skipped).
 * Enough for the few counters and gauges the benchmark reads; not a full parser.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const close = line.lastIndexOf('}');
    const split = close >= 0 ? line.indexOf(' ', close) : line.indexOf(' ');
    if (split <= 0) continue;
    const value = Number(line.slice(split + 1).trim().split(' ')[0]);
    if (!Number.isNaN(value)) values.set(line.slice(0, split), value);
  }
  return values;
}

/** What the benchmark reads from a Tally's `/metrics`. */
export interface ServerSample {
  /** Milliseconds since the run started. */
  readonly t: number;
  readonly changesApplied: number | undefined;
  readonly eventsIngested: number | undefined;
  readonly cpuSeconds: number | undefined;
  readonly rssBytes: number | undefined;
  /** Batches and items of the ingest and counter stages (from `tally_stage_batch_size`). */
  readonly ingestBatches: number | undefined;
  readonly ingestItems: number | undefined;
  readonly counterBatches: number | undefined;
  readonly counterItems: number | undefined;
  /** Events (ingest) and changes (counter) the stages wait for, as of the scrape (`tally_stage_lag_events`). */
  readonly ingestLag: number | undefined;
  readonly counterLag: number | undefined;
  /** The api thread's garbage collection: seconds in pauses, and pauses over 10 ms (`nodejs_gc_duration_seconds`). */
  readonly gcSeconds: number | undefined;
  readonly gcPausesOver10ms: number | undefined;
}

const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'];

/** Sums `nodejs_gc_duration_seconds` over its kinds: seconds, and pauses longer than 10 ms. */
function gcTotals(metrics: Map<string, number>): { seconds: number | undefined; over10ms: number | undefined } {
  let seconds: number | undefined;
  let over10ms: number | undefined;
  for (const kind of GC_KINDS) {
    const sum = metrics.get(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`);
    const count = metrics.get(`nodejs_gc_duration_seconds_count{kind="${kind}"}`);
    const within10ms = metrics.get(`nodejs_gc_duration_seconds_bucket{le="0.01",kind="${kind}"}`);
    if (sum === undefined || count === undefined || within10ms === undefined) continue;
    seconds = (seconds ?? 0) + sum;
    over10ms = (over10ms ?? 0) + count - within10ms;
  }
  return { seconds, over10ms };
}

function withWriter(api: number | undefined, writer: number | undefined): number | undefined {
  return api === undefined ? undefined : api + (writer ?? 0);
}

/** Picks the benchmark's metrics out of a parsed exposition. */
export function serverSample(t: number, metrics: Map<string, number>): ServerSample {
  const gc = gcTotals(metrics);
  return {
    t,
    changesApplied: metrics.get('tally_changes_applied_total'),
    eventsIngested: metrics.get('tally_events_ingested_total'),
    // The api process and its stream writer process (`--stream-writer process`), when it has one.
    cpuSeconds: withWriter(metrics.get('process_cpu_seconds_total'), metrics.get('tally_stream_writer_cpu_seconds_total')),
    // The writer's anonymous memory: the api's RSS already holds the Node binary's pages they share.
    rssBytes: withWriter(metrics.get('process_resident_memory_bytes'), metrics.get('tally_stream_writer_anonymous_memory_bytes') ?? metrics.get('tally_stream_writer_resident_memory_bytes')),
    ingestBatches: metrics.get('tally_stage_batch_size_count{stage="ingest"}'),
    ingestItems: metrics.get('tally_stage_batch_size_sum{stage="ingest"}'),
    counterBatches: metrics.get('tally_stage_batch_size_count{stage="counter"}'),
    counterItems: metrics.get('tally_stage_batch_size_sum{stage="counter"}'),
    ingestLag: metrics.get('tally_stage_lag_events{stage="ingest"}'),
    counterLag: metrics.get('tally_stage_lag_events{stage="counter"}'),
    gcSeconds: gc.seconds,
    gcPausesOver10ms: gc.over10ms,
  };
}
