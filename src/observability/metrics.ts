import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** The Prometheus metrics of one Tally process; `/metrics` renders `registry`. */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsAccepted = new Counter({ name: 'tally_events_accepted_total', help: 'Like and unlike events made durable in the log', registers: [this.registry] });
  readonly eventsIngested = new Counter({ name: 'tally_events_ingested_total', help: 'Events applied to the likes store', registers: [this.registry] });
  readonly rowsChanged = new Counter({ name: 'tally_likes_rows_changed_total', help: 'Likes rows that really changed', registers: [this.registry] });
  readonly changesApplied = new Counter({ name: 'tally_changes_applied_total', help: 'Change-feed records applied to the counters', registers: [this.registry] });
  readonly duplicatesSkipped = new Counter({ name: 'tally_changes_duplicate_total', help: 'Redelivered changes skipped by position', registers: [this.registry] });
  readonly driftRepaired = new Counter({ name: 'tally_reconcile_repaired_total', help: 'Counters that a recount found wrong and repaired', registers: [this.registry] });
  readonly postsRecounted = new Counter({ name: 'tally_reconcile_recounted_total', help: 'Posts recounted by reconcile', registers: [this.registry] });
  readonly stageErrors = new Counter({ name: 'tally_stage_errors_total', help: 'Errors a stage recovered from by retrying', labelNames: ['stage'], registers: [this.registry] });
  readonly overloaded = new Counter({ name: 'tally_overloaded_total', help: 'Writes refused with 429/503', registers: [this.registry] });
  readonly readsDegraded = new Counter({ name: 'tally_reads_degraded_total', help: 'Count reads that went around a failed backend (cache: served by the counter store; counter store: misses failed)', labelNames: ['backend'], registers: [this.registry] });
  readonly viewerFilterReady = new Gauge({ name: 'tally_viewer_filter_ready', help: '1 once the liked-pairs filter has loaded the likes store and viewer flags look up only the pairs it may hold; 0 before (every flag is looked up)', registers: [this.registry] });
  readonly ingestLag = new Gauge({ name: 'tally_ingest_lag_events', help: 'Events in the log not yet applied to the likes store, as seen by the last write', registers: [this.registry] });
  readonly batchSize = new Histogram({
    name: 'tally_stage_batch_size',
    help: 'Items per stage batch',
    labelNames: ['stage'],
    buckets: [1, 10, 100, 1000, 5000, 20000],
    registers: [this.registry],
  });

  /**
   * This thread's V8 heap (prom-client's `nodejs_heap_*` describe the main thread only): the
   * pipeline worker thread reports its own under `thread="pipeline"`.
   */
  readonly threadHeap: Gauge<'thread' | 'kind'>;

  /** Metrics of other threads (their registries as JSON), merged into `render()`. */
  readonly #sources = new Map<string, MetricObjectWithValues<MetricValue<string>>[]>();

  constructor(options: { defaultMetrics: boolean; thread?: string } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const thread = options.thread ?? 'main';
    this.threadHeap = new Gauge({
      name: 'tally_thread_heap_bytes',
      help: "A thread's V8 heap: kind=total (reserved, resident once touched), used, young (the young generation's reserved size)",
      labelNames: ['thread', 'kind'],
      registers: [this.registry],
      collect() {
        const heap = getHeapStatistics();
        const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
        this.set({ thread, kind: 'total' }, heap.total_heap_size);
        this.set({ thread, kind: 'used' }, heap.used_heap_size);
        this.set({ thread, kind: 'young' }, young);
      },
    });
  }

  /** Records the latest metrics of another thread, as `registry.getMetricsAsJSON()` serialized. */
  setSource(name: string, json: string): void {
    this.#sources.set(name, JSON.parse(json) as MetricObjectWithValues<MetricValue<string>>[]);
  }

  /**
   * The Prometheus text of this registry and every source, same-named metrics summed; only the
   * metrics named in `names` when given (`GET /metrics?name=…`), so that a poller of one gauge
   * does not pay for collecting every metric (about 1 ms a scrape, all of them).
   */
  async render(names?: readonly string[]): Promise<string> {
    if (names === undefined) {
      if (this.#sources.size === 0) return this.registry.metrics();
      return AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON(), ...this.#sources.values()]).metrics();
    }
    const wanted = new Set(names);
    const own = await Promise.all([...wanted].map(async (name) => this.registry.getSingleMetric(name)?.get()));
    const picked = own.filter((metric): metric is MetricObjectWithValues<MetricValue<string>> => metric !== undefined);
    const sources = [...this.#sources.values()].map((metrics) => metrics.filter((metric) => wanted.has(metric.name)));
    return AggregatorRegistry.aggregate([picked, ...sources]).metrics();
  }
}
