import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skippedBaseline } from '../../bench/baselines/baseline-result.ts';
import { ninesX, renderReport } from '../../bench/report-html.ts';
import { computeRatios, evaluateGoals, type BenchResult } from '../../bench/result.ts';
import type { ChartData } from '../../bench/run-bench.ts';
import { summaryTable } from '../../bench/summary-table.ts';
import { barChart, escapeXml, lineChart, niceTicks, shortNumber } from '../../bench/svg-chart.ts';

test('ratios divide Tally by each baseline; skipped baselines give null', () => {
  const ratios = computeRatios({ bulkAppliedPerSec: 120_000, singleReqPerSec: 7000, readReqPerSec: 5000, redisPerSec: 100_000, postgresPerSec: null, helloPerSec: 10_000 });
  assert.deepEqual(ratios, { bulkAppliedVsRedisLua: 1.2, bulkAppliedVsPostgresNaive: null, singleVsHelloWorld: 0.7, readRequestsVsHelloWorld: 0.5 });
  assert.equal(computeRatios({ bulkAppliedPerSec: null, singleReqPerSec: 1, readReqPerSec: 1, redisPerSec: 1, postgresPerSec: 0, helloPerSec: 1 }).bulkAppliedVsRedisLua, null);
});

test('goals follow the issue, per target kind', () => {
  const ratios = computeRatios({ bulkAppliedPerSec: 120_000, singleReqPerSec: 6000, readReqPerSec: 5000, redisPerSec: 90_000, postgresPerSec: 3000, helloPerSec: 10_000 });
  const paced = [
    { share: 0.5, ratePerSec: 60_000, sentPerSec: 60_000, p50Ms: 5, p99Ms: 400, p999Ms: 500, maxMs: 600, samples: 1000, timeouts: 0, maxSendLagMs: 2 },
    { share: 0.8, ratePerSec: 96_000, sentPerSec: 96_000, p50Ms: 8, p99Ms: 90, p999Ms: 120, maxMs: 130, samples: 1000, timeouts: 0, maxSendLagMs: 3 },
  ];
  const pair = { readsWithout: 100, readsWith: 95, readsRatio: 0.95, writesWithout: 100, writesWith: 85, writesRatio: 0.85, apiCoresWithout: 0.8, apiCoresWith: 0.9, clientCoresWithout: 0.5, clientCoresWith: 0.6 };
  const liveStreams = { streams: 1000, probeLikes: 500, p50Ms: 30, p99Ms: 150, maxMs: 200, samples: 10_000, missed: 0, apiCores: 0.2, rssBeforeMb: 200, rssMaxMb: 220, pairs: [pair], readsRatioMedian: 0.95, writesRatioMedian: 0.85 };
  const goals = evaluateGoals({ targetKind: 'embedded', bulkAppliedPerSec: 120_000, freshnessP99Ms: 150, countsPerSec: 1_200_000, viewerCountsPerSec: 300_000, ratios, paced, liveStreams });
  assert.deepEqual(goals.map((g) => [g.name, g.met]), [
    ['bulk applied likes/s', true],
    ['bulk applied ÷ Redis Lua', true],
    ['freshness p99 ms', false],
    ['single likes ÷ hello-world', false],
    ['batch reads counts/s', true],
    ['batch reads with viewer counts/s', false],
    ['paced 80% freshness p99 ms', true],
    ['live streams: like → SSE event p99 ms', true],
    ['live streams: reads/writes slowed by (median of pairs)', false],
  ]);
  const distributed = evaluateGoals({ targetKind: 'distributed', bulkAppliedPerSec: null, freshnessP99Ms: 900, countsPerSec: 0, viewerCountsPerSec: 0, ratios, paced, liveStreams: null });
  assert.deepEqual(distributed.map((g) => g.met), [null, true, true, null, null]);
});

test('chart helpers: ticks, labels, escaping', () => {
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0, 0.9, 4), [0, 0.25, 0.5, 0.75]);
  assert.equal(shortNumber(1_234_567), '1.23M');
  assert.equal(shortNumber(61_136), '61.1k');
  assert.equal(shortNumber(0.25), '0.25');
  assert.equal(escapeXml('<a & "b">'), '&lt;a &amp; &quot;b&quot;&gt;');
  assert.equal(ninesX(0), 0);
  assert.ok(Math.abs(ninesX(99) - 2) < 1e-9);
  assert.ok(ninesX(100) > ninesX(99.999));
});

test('charts are self-contained SVG, with an empty state', () => {
  const svg = lineChart({ title: 'T <1>', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', color: '#000', points: [{ x: 0, y: 1 }, { x: 1, y: 10 }] }], yLog: true });
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<path d="M/);
  assert.ok(svg.includes('T &lt;1&gt;'));
  assert.match(lineChart({ title: 'e', xLabel: 'x', yLabel: 'y', series: [] }), /no data/);
  const bars = barChart({ title: 'b', unit: 'likes/s', bars: [{ label: 'x', value: 10, color: '#111' }, { label: 'y', value: null, color: '#222' }] });
  assert.ok(bars.includes('skipped') && bars.includes('10 likes/s'));
});

function fakeResult(correct: boolean): BenchResult {
  const latency = { count: 10, meanMs: 1, p50Ms: 1, p90Ms: 2, p99Ms: 3, p999Ms: 4, maxMs: 5 };
  const ratios = computeRatios({ bulkAppliedPerSec: 50_000, singleReqPerSec: 5000, readReqPerSec: 4000, redisPerSec: 40_000, postgresPerSec: null, helloPerSec: 8000 });
  return {
    tool: 'tally-bench',
    startedAt: '2026-11-27T00:00:00.000Z',
    seconds: 30,
    command: './tally bench --quick',
    machine: { cpus: 2, cpuModel: 'cpu', memoryGb: 8, node: 'v24', loadAverage: [0.5, 1] },
    target: { kind: 'embedded', description: 'embedded <tmp>' },
    workload: { events: 100, posts: 10, postsTouched: 9, users: 1000, zipf: 1.2, hotShare: 0, likes: 90, unlikes: 10, seed: 1, minGap: 16 },
    correct,
    correctness: { postsChecked: 9, mismatches: correct ? 0 : 1, examples: correct ? [] : [{ postId: 'p1', count: 3, actual: 2 }] },
    bulk: {
      events: 100, batch: 10, concurrency: 2, acceptSeconds: 0.1, applySeconds: 0.2, acceptedPerSec: 1000, appliedPerSec: 500, retries: 0, batchLatency: latency,
      server: { cpuSeconds: 0.1, cpuSecondsPer1kLikes: 1, rssMaxMb: 100, ingestBatchMean: 50, counterBatchMean: 40 }, clientCpuSeconds: 0.05,
    },
    loadGenerator: 'wrk',
    single: { requests: 10, sent: 12, acknowledged: 10, seconds: 1, reqPerSec: 10, latency },
    reads: { postsPerCall: 50, countsPerSec: 500, reqPerSec: 10, p50Ms: 1, p99Ms: 3, p999Ms: 4, latency, withViewer: { countsPerSec: 250, reqPerSec: 5, p50Ms: 2, p99Ms: 6, latency }, singleCount: { reqPerSec: 10, latency }, hotCount: { reqPerSec: 12, vsUniform: 1.2, latency }, underWrites: { countsPerSec: 100, reqPerSec: 2, p99Ms: 3, latency, writesAcceptedPerSec: 5 } },
    freshness: { samples: 10, timeouts: 0, reads: 0, p50Ms: 1, p99Ms: 3, maxMs: 5, latency },
    paced: [{ share: 0.5, ratePerSec: 250, sentPerSec: 250, p50Ms: 4, p99Ms: 9, p999Ms: 10, maxMs: 11, samples: 100, timeouts: 0, maxSendLagMs: 1 }],
    liveStreams: {
      streams: 1000, probeLikes: 50, p50Ms: 30, p99Ms: 190, maxMs: 250, samples: 50_000, missed: 0, apiCores: 0.2, rssBeforeMb: 200, rssMaxMb: 230,
      pairs: [{ readsWithout: 1000, readsWith: 950, readsRatio: 0.95, writesWithout: 800, writesWith: 780, writesRatio: 0.975, apiCoresWithout: null, apiCoresWith: null, clientCoresWithout: 0.5, clientCoresWith: 0.6 }], readsRatioMedian: 0.95, writesRatioMedian: 0.975,
    },
    shares: { ingest: [0.5, 0.5], counter: [1] },
    stageCpuSeconds: null,
    redisReadsPerSec: null,
    baselines: {
      redisLua: { perSec: 40_000, operations: 100, seconds: 0.01, correct: true, note: 'redis' },
      postgresNaive: skippedBaseline('postgres not reachable'),
      helloWorld: { perSec: 8000, reqPerSec: 8000, operations: 8000, seconds: 1, correct: null, latency, note: 'hello' },
    },
    ratios,
    goals: evaluateGoals({ targetKind: 'embedded', bulkAppliedPerSec: 500, freshnessP99Ms: 3, countsPerSec: 500, viewerCountsPerSec: 250, ratios, paced: [], liveStreams: null }),
    phases: [{ name: 'bulk', fromS: 1, toS: 2, clientCores: 0.5, serverCores: 0.9, serverGcShare: 0.042, serverGcPausesOver10ms: 3, rssMaxMb: 321 }],
    notes: ['a note'],
    report: '/tmp/r.html',
  };
}

const CHARTS: ChartData = {
  bulkAccepted: [{ t: 250, perSec: 100 }],
  bulkApplied: [{ t: 300, perSec: 90 }],
  bulkWindow: { from: 0, to: 500 },
  freshness: [{ t: 100, ms: 3, phase: 'bulk' }],
  latencyCurves: [{ name: 'x', points: [{ percentile: 50, ms: 1 }, { percentile: 99, ms: 3 }] }],
  serverRssMb: [{ t: 0, value: 100 }],
};

test('the HTML report is self-contained and carries the verdict, tables and charts', () => {
  const html = renderReport(fakeResult(true), CHARTS);
  assert.match(html, /^<!doctype html>/);
  assert.ok(!/<script|<link|https?:\/\/(?!www\.w3\.org)/.test(html), 'no scripts or external resources');
  assert.ok(html.includes('Correct: all 9 counts'));
  assert.ok(html.includes('embedded &lt;tmp&gt;'));
  assert.ok((html.match(/<svg /g) ?? []).length >= 6);
  assert.ok(renderReport(fakeResult(false), CHARTS).includes('WRONG: 1 of 9'));
});

test('the summary table names skipped baselines and the verdict', () => {
  const text = summaryTable(fakeResult(false));
  assert.match(text, /postgresNaive: postgres not reachable/);
  assert.match(text, /WRONG: 1 of 9 counts differ, e.g. p1 expected 3 got 2/);
  assert.match(text, /bulk applied ÷ Redis Lua\s+1\.25×/);
  assert.match(text, /paced 50% \(250 likes\/s\)\s+p50 4\.00 ms\s+p99 9\.00 ms/);
  assert.match(text, /live streams\s+1,000 open\s+p99 190 ms/);
  assert.match(text, /load generator: wrk/);
  assert.match(text, /bulk\s+1\.0\s+0\.90 cores\s+0\.50 cores\s+321 MB\s+4\.2% \(3\)/, "each phase shows its largest RSS and the api thread's GC");
});

test('the HTML report shows the paced rates, the live streams and the load generator', () => {
  const html = renderReport(fakeResult(true), CHARTS);
  assert.ok(html.includes('Paced freshness'));
  assert.ok(html.includes('Live streams'));
  assert.ok(html.includes('0.95×'));
  assert.ok(html.includes('load generator: wrk'));
  assert.ok(html.includes('<td>4.2% (3)</td>'), "the phases table shows the api thread's GC");
});
