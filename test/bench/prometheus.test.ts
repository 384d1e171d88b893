import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheus, serverSample } from '../../bench/prometheus.ts';
import { RateSeries, ratesFromCumulative } from '../../bench/rate-series.ts';

const TEXT = `# HELP tally_changes_applied_total Change-feed records applied to the counters
# TYPE tally_changes_applied_total counter
tally_changes_applied_total 12345
tally_stage_batch_size_bucket{le="+Inf",stage="ingest"} 7
tally_stage_batch_size_sum{stage="ingest"} 7000
tally_stage_batch_size_count{stage="ingest"} 7
process_cpu_seconds_total 1.5 1700000000000
process_resident_memory_bytes 133685248
`;

test('parses plain and labelled samples, skipping comments and timestamps', () => {
  const metrics = parsePrometheus(TEXT);
  assert.equal(metrics.get('tally_changes_applied_total'), 12345);
  assert.equal(metrics.get('tally_stage_batch_size_bucket{le="+Inf",stage="ingest"}'), 7);
  assert.equal(metrics.get('process_cpu_seconds_total'), 1.5);
  const sample = serverSample(10, metrics);
  assert.deepEqual(sample, {
    t: 10,
    changesApplied: 12345,
    eventsIngested: undefined,
    cpuSeconds: 1.5,
    rssBytes: 133685248,
    ingestBatches: 7,
    ingestItems: 7000,
    counterBatches: undefined,
    counterItems: undefined,
    ingestLag: undefined,
    counterLag: undefined,
    gcSeconds: undefined,
    gcPausesOver10ms: undefined,
  });
});

test("the api thread's GC: seconds summed over the kinds, and the pauses over 10 ms (count minus the 10 ms bucket)", () => {
  const gc = ['minor', 'major']
    .map((kind, i) =>
      [
        `nodejs_gc_duration_seconds_bucket{le="0.001",kind="${kind}"} ${10 * (i + 1)}`,
        `nodejs_gc_duration_seconds_bucket{le="0.01",kind="${kind}"} ${40 * (i + 1)}`,
        `nodejs_gc_duration_seconds_bucket{le="0.1",kind="${kind}"} ${45 * (i + 1)}`,
        `nodejs_gc_duration_seconds_sum{kind="${kind}"} ${0.25 * (i + 1)}`,
        `nodejs_gc_duration_seconds_count{kind="${kind}"} ${45 * (i + 1)}`,
      ].join('\n'),
    )
    .join('\n');
  const sample = serverSample(0, parsePrometheus(`${TEXT}${gc}\n`));
  assert.equal(sample.gcSeconds, 0.75);
  assert.equal(sample.gcPausesOver10ms, 5 + 10);
});

test("server RSS: the api's plus its stream writer's anonymous memory (its RSS from a server that does not report that)", () => {
  const writer = 'tally_stream_writer_resident_memory_bytes 100\ntally_stream_writer_cpu_seconds_total 0.5\n';
  const withAnonymous = serverSample(0, parsePrometheus(`${TEXT}${writer}tally_stream_writer_anonymous_memory_bytes 60\n`));
  assert.equal(withAnonymous.rssBytes, 133685248 + 60);
  assert.equal(withAnonymous.cpuSeconds, 2);
  assert.equal(serverSample(0, parsePrometheus(`${TEXT}${writer}`)).rssBytes, 133685248 + 100);
});

test('rate series: buckets per interval, zeros in between, per-second scaling', () => {
  const series = new RateSeries(250);
  series.add(10, 100);
  series.add(240, 50);
  series.add(760, 25);
  assert.deepEqual(series.points(), [
    { t: 125, perSec: 600 },
    { t: 375, perSec: 0 },
    { t: 625, perSec: 0 },
    { t: 875, perSec: 100 },
  ]);
  assert.deepEqual(series.points(500, 750), [{ t: 625, perSec: 0 }]);
});

test('rates from a cumulative counter', () => {
  assert.deepEqual(
    ratesFromCumulative([
      { t: 0, value: 0 },
      { t: 500, value: 1000 },
      { t: 500, value: 1000 },
      { t: 1500, value: 1500 },
    ]),
    [
      { t: 250, perSec: 2000 },
      { t: 1000, perSec: 500 },
    ],
  );
});
