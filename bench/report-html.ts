import type { BaselineResult } from './baselines/baseline-result.ts';
import type { BenchResult } from './result.ts';
import type { ChartData } from './run-bench.ts';
import { formatNumber, gcCell } from './summary-table.ts';
import { barChart, escapeXml, lineChart } from './svg-chart.ts';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** x of a percentile on an HDR "nines" axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 ... */
export function ninesX(percentile: number): number {
  if (percentile <= 0) return 0;
  return percentile >= 100 ? 5.3 : Math.min(5.3, -Math.log10(1 - percentile / 100));
}

const NINES_TICKS = [
  { at: 0, label: '0%' },
  { at: 1, label: '90%' },
  { at: 2, label: '99%' },
  { at: 3, label: '99.9%' },
  { at: 4, label: '99.99%' },
  { at: 5, label: '99.999%' },
];

function rows(cells: readonly (readonly string[])[]): string {
  const [head, ...body] = cells;
  return `<table><thead><tr>${(head ?? []).map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function baselineCells(name: string, b: BaselineResult, unit: string): string[] {
  return [name, b.skipped === undefined ? `${formatNumber(b.perSec)} ${unit}` : 'skipped', b.latency === undefined ? '' : `${formatNumber(b.latency.p99Ms, 2)} ms`, b.correct === null ? '' : b.correct ? 'yes' : 'NO', b.skipped ?? b.note];
}

/** The self-contained HTML report: tables and inline SVG charts, no external resources. */
export function renderReport(r: BenchResult, charts: ChartData): string {
  const seconds = (t: number): number => (t - charts.bulkWindow.from) / 1000;
  const throughput = lineChart({
    title: 'Bulk phase: likes per second over time',
    xLabel: 'seconds since the first bulk request',
    yLabel: 'likes/s',
    series: [
      { name: 'accepted (2xx)', color: COLORS[0] as string, points: charts.bulkAccepted.map((p) => ({ x: seconds(p.t), y: p.perSec })) },
      { name: 'applied (counter)', color: COLORS[1] as string, points: charts.bulkApplied.map((p) => ({ x: seconds(p.t), y: p.perSec })) },
    ],
  });
  const probePhases = [...new Set(charts.freshness.map((f) => f.phase))];
  const freshness = lineChart({
    title: 'Freshness over time: probe like 2xx → count visible',
    xLabel: 'seconds since the run started',
    yLabel: 'ms (log)',
    yLog: true,
    series: probePhases.map((phase, i) => ({
      name: `during ${phase}`,
      color: COLORS[(i + 2) % COLORS.length] as string,
      dots: true,
      points: charts.freshness.filter((f) => f.phase === phase).map((f) => ({ x: f.t / 1000, y: Math.max(0.01, f.ms) })),
    })),
  });
  const latency = lineChart({
    title: 'Latency by percentile (HDR histograms)',
    xLabel: 'percentile',
    yLabel: 'ms (log)',
    yLog: true,
    height: 380,
    xTicks: NINES_TICKS,
    series: charts.latencyCurves
      .filter((c) => c.points.length > 0)
      .map((c, i) => ({ name: c.name, color: COLORS[i % COLORS.length] as string, points: c.points.map((p) => ({ x: ninesX(p.percentile), y: Math.max(0.001, p.ms) })) })),
    width: 900,
  });
  const writes = barChart({
    title: 'Writes: Tally vs baselines (same run, same workload)',
    unit: 'likes/s',
    bars: [
      { label: 'Tally bulk, applied', value: r.bulk.appliedPerSec, color: COLORS[0] as string },
      { label: 'Tally bulk, accepted', value: r.bulk.acceptedPerSec, color: '#6baed6' },
      { label: 'Redis SADD+INCR Lua', value: r.baselines.redisLua.perSec, color: COLORS[3] as string },
      { label: 'PostgreSQL naive', value: r.baselines.postgresNaive.perSec, color: COLORS[4] as string },
    ],
  });
  const requests = barChart({
    title: 'Requests per second vs the HTTP ceiling',
    unit: 'req/s',
    bars: [
      { label: 'fastify hello-world', value: r.baselines.helloWorld.perSec, color: COLORS[7] as string },
      { label: 'Tally PUT one like', value: r.single.reqPerSec, color: COLORS[0] as string },
      { label: `Tally GET /v1/counts ×${r.reads.postsPerCall}`, value: r.reads.reqPerSec, color: COLORS[2] as string },
      { label: 'Tally GET …/count', value: r.reads.singleCount.reqPerSec, color: COLORS[1] as string },
    ],
  });
  const rss = lineChart({
    title: 'Server resident memory',
    xLabel: 'seconds since the run started',
    yLabel: 'MB',
    series: [{ name: 'RSS', color: COLORS[5] as string, points: charts.serverRssMb.map((p) => ({ x: p.t / 1000, y: p.value })) }],
    height: 220,
  });
  const measures = rows([
    ['measure', 'value', 'p50', 'p99', 'p99.9', 'max'],
    ['bulk accepted (likes/s)', formatNumber(r.bulk.acceptedPerSec), `${formatNumber(r.bulk.batchLatency.p50Ms, 2)} ms`, `${formatNumber(r.bulk.batchLatency.p99Ms, 2)} ms`, `${formatNumber(r.bulk.batchLatency.p999Ms, 2)} ms`, `${formatNumber(r.bulk.batchLatency.maxMs, 2)} ms`],
    ['bulk applied (likes/s)', formatNumber(r.bulk.appliedPerSec), '', '', '', ''],
    ['freshness (ms)', `${r.freshness.samples} probes`, formatNumber(r.freshness.p50Ms, 2), formatNumber(r.freshness.p99Ms, 2), formatNumber(r.freshness.latency.p999Ms, 2), formatNumber(r.freshness.maxMs, 2)],
    ['single likes PUT (req/s)', formatNumber(r.single.reqPerSec), `${formatNumber(r.single.latency.p50Ms, 2)} ms`, `${formatNumber(r.single.latency.p99Ms, 2)} ms`, `${formatNumber(r.single.latency.p999Ms, 2)} ms`, `${formatNumber(r.single.latency.maxMs, 2)} ms`],
    ['GET /v1/counts (counts/s)', formatNumber(r.reads.countsPerSec), `${formatNumber(r.reads.p50Ms, 2)} ms`, `${formatNumber(r.reads.p99Ms, 2)} ms`, `${formatNumber(r.reads.p999Ms, 2)} ms`, `${formatNumber(r.reads.latency.maxMs, 2)} ms`],
    ['GET /v1/counts&viewer= (counts/s)', formatNumber(r.reads.withViewer.countsPerSec), `${formatNumber(r.reads.withViewer.p50Ms, 2)} ms`, `${formatNumber(r.reads.withViewer.p99Ms, 2)} ms`, `${formatNumber(r.reads.withViewer.latency.p999Ms, 2)} ms`, `${formatNumber(r.reads.withViewer.latency.maxMs, 2)} ms`],
    ['GET …/count (req/s)', formatNumber(r.reads.singleCount.reqPerSec), `${formatNumber(r.reads.singleCount.latency.p50Ms, 2)} ms`, `${formatNumber(r.reads.singleCount.latency.p99Ms, 2)} ms`, `${formatNumber(r.reads.singleCount.latency.p999Ms, 2)} ms`, `${formatNumber(r.reads.singleCount.latency.maxMs, 2)} ms`],
    ['GET /v1/counts under writes (counts/s)', formatNumber(r.reads.underWrites.countsPerSec), `${formatNumber(r.reads.underWrites.latency.p50Ms, 2)} ms`, `${formatNumber(r.reads.underWrites.p99Ms, 2)} ms`, `${formatNumber(r.reads.underWrites.latency.p999Ms, 2)} ms`, `${formatNumber(r.reads.underWrites.latency.maxMs, 2)} ms`],
    ['server CPU s per 1k likes (bulk)', formatNumber(r.bulk.server.cpuSecondsPer1kLikes, 4), '', '', '', ''],
    ['server RSS max (MB)', formatNumber(r.bulk.server.rssMaxMb), '', '', '', ''],
    ['mean ingest / counter batch (bulk)', `${formatNumber(r.bulk.server.ingestBatchMean)} / ${formatNumber(r.bulk.server.counterBatchMean)}`, '', '', '', ''],
  ]);
  const pacedTable = rows([
    ['share of bulk applied', 'rate (likes/s)', 'sent (likes/s)', 'p50', 'p99', 'p99.9', 'max', 'probes', 'timeouts', 'sender late by'],
    ...r.paced.map((p) => [
      `${Math.round(p.share * 100)}%`,
      formatNumber(p.ratePerSec),
      formatNumber(p.sentPerSec),
      `${formatNumber(p.p50Ms, 2)} ms`,
      `${formatNumber(p.p99Ms, 2)} ms`,
      `${formatNumber(p.p999Ms, 2)} ms`,
      `${formatNumber(p.maxMs, 2)} ms`,
      String(p.samples),
      String(p.timeouts),
      `${formatNumber(p.maxSendLagMs, 1)} ms`,
    ]),
  ]);
  const ls = r.liveStreams;
  const streamsSection =
    ls === null
      ? '<h2>Live streams</h2><p>Skipped (--streams 0).</p>'
      : `<h2>Live streams</h2><p>${ls.streams} SSE streams open; ${ls.probeLikes} probe likes; like's 202 → SSE event over ${ls.samples} (like, stream) pairs: p50 ${formatNumber(ls.p50Ms, 2)} ms, p99 ${formatNumber(ls.p99Ms, 2)} ms, max ${formatNumber(ls.maxMs, 2)} ms, ${ls.missed} missed. api CPU ${formatNumber(ls.apiCores, 2)} cores; RSS ${formatNumber(ls.rssBeforeMb)} MB before the streams, ${formatNumber(ls.rssMaxMb)} MB at most with them.</p>${rows([
          ['pair', 'reads/s without', 'reads/s with', 'reads with ÷ without', 'writes/s without', 'writes/s with', 'writes with ÷ without', 'api cores without / with', 'load generator cores without / with'],
          ...ls.pairs.map((p, i) => [
            String(i + 1),
            formatNumber(p.readsWithout),
            formatNumber(p.readsWith),
            `${p.readsRatio.toFixed(2)}×`,
            formatNumber(p.writesWithout),
            formatNumber(p.writesWith),
            `${p.writesRatio.toFixed(2)}×`,
            `${formatNumber(p.apiCoresWithout, 2)} / ${formatNumber(p.apiCoresWith, 2)}`,
            `${formatNumber(p.clientCoresWithout, 2)} / ${formatNumber(p.clientCoresWith, 2)}`,
          ]),
          ['median', '', '', `${ls.readsRatioMedian.toFixed(2)}×`, '', '', `${ls.writesRatioMedian.toFixed(2)}×`, '', ''],
        ])}`;
  const baselines = rows([
    ['baseline', 'rate', 'p99', 'counts right', 'how'],
    baselineCells('Redis SADD+INCR Lua', r.baselines.redisLua, 'likes/s'),
    baselineCells('PostgreSQL naive', r.baselines.postgresNaive, 'likes/s'),
    baselineCells('fastify hello-world', r.baselines.helloWorld, 'req/s'),
  ]);
  const ratio = (v: number | null): string => (v === null ? '—' : `${v.toFixed(2)}×`);
  const ratios = rows([
    ['ratio (same run)', 'value'],
    ['bulk applied ÷ Redis Lua', ratio(r.ratios.bulkAppliedVsRedisLua)],
    ['bulk applied ÷ PostgreSQL naive', ratio(r.ratios.bulkAppliedVsPostgresNaive)],
    ['single likes ÷ hello-world', ratio(r.ratios.singleVsHelloWorld)],
    ['read requests ÷ hello-world', ratio(r.ratios.readRequestsVsHelloWorld)],
  ]);
  const phases = rows([
    ['phase', 'seconds', 'server CPU (cores)', 'load generator CPU (cores)', 'server RSS max (MB)', 'api GC (pauses > 10 ms)'],
    ...r.phases.map((p) => [p.name, (p.toS - p.fromS).toFixed(1), p.serverCores === null ? '—' : p.serverCores.toFixed(2), p.clientCores.toFixed(2), p.rssMaxMb === null ? '—' : formatNumber(p.rssMaxMb), gcCell(p)]),
  ]);
  const goals = rows([['goal', 'want', 'got', 'met'], ...r.goals.map((g) => [g.name, g.want, formatNumber(g.value, 2), g.met === null ? '—' : g.met ? 'yes' : 'no'])]);
  const verdict = r.correct
    ? `<p class="ok">Correct: all ${r.correctness.postsChecked} counts equal the generator's.</p>`
    : `<p class="bad">WRONG: ${r.correctness.mismatches} of ${r.correctness.postsChecked} counts differ.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tally bench ${escapeXml(r.startedAt)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
svg{display:block;margin:12px 0;font-size:11px}svg .title{font-size:13px;font-weight:600}svg .grid{stroke:#eee}svg .axis{stroke:#888}
.ok{color:#2a7a2a;font-weight:600}.bad{color:#b00;font-weight:600}code,pre{background:#f6f6f6;padding:2px 4px}pre{overflow:auto;padding:8px}
</style></head><body>
<h1>tally bench</h1>
<p><code>${escapeXml(r.command)}</code><br>${escapeXml(r.startedAt)} · ${r.seconds} s · ${escapeXml(r.target.description)}<br>
${r.machine.cpus} × ${escapeXml(r.machine.cpuModel)}, ${r.machine.memoryGb} GB, node ${escapeXml(r.machine.node)}, load average ${r.machine.loadAverage[0]} → ${r.machine.loadAverage[1]}</p>
<p>Workload: ${r.workload.events} events (${r.workload.likes} likes, ${r.workload.unlikes} unlikes) over ${r.workload.posts} posts (${r.workload.postsTouched} touched), Zipf s=${r.workload.zipf}, users from ${r.workload.users}, hot share ${r.workload.hotShare}, seed ${r.workload.seed}.</p>
${verdict}
<p>load generator: ${r.loadGenerator}${r.loadGenerator === 'wrk' ? ' (reads, single likes, hello-world and the streams windows; bulk, mixed, paced and the probes use the Node client)' : ' (the Node client for every phase)'}</p>
<h2>Tally</h2>${measures}
<h2>Paced freshness</h2><p>Likes at a constant rate (open loop, batches every 10 ms); like → visible from each probe like's scheduled send time, so a server that falls behind shows in the latency (coordinated omission corrected).</p>${r.paced.length === 0 ? '<p>Skipped.</p>' : pacedTable}
${streamsSection}
<h2>Baselines</h2>${baselines}
<h2>Ratios</h2>${ratios}
<h2>Phases</h2><p>A side near one full core is what bounds that phase (this machine has ${r.machine.cpus} CPUs for both).</p>${phases}
<h2>Goals</h2>${goals}
<h2>Charts</h2>
${writes}
${requests}
${throughput}
${freshness}
${latency}
${rss}
${r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
<details><summary>JSON</summary><pre>${escapeXml(JSON.stringify(r, null, 2))}</pre></details>
</body></html>
`;
}
