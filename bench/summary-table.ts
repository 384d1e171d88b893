import type { BaselineResult } from './baselines/baseline-result.ts';
import type { BenchResult } from './result.ts';

/** Thousands separators, no decimals (or `digits` decimals under 100). */
export function formatNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '—';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function formatRatio(value: number | null): string {
  return value === null ? '—' : `${value.toFixed(2)}×`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

/** A phase's api-thread GC: its share of the phase, and the pauses over 10 ms in brackets. */
export function gcCell(p: BenchResult['phases'][number]): string {
  if (p.serverGcShare === null) return '—';
  return `${(p.serverGcShare * 100).toFixed(1)}% (${p.serverGcPausesOver10ms ?? '—'})`;
}

function baselineRow(name: string, b: BaselineResult, unit: string): string[] {
  return [name, b.skipped !== undefined ? `skipped` : `${formatNumber(b.perSec)} ${unit}`, b.latency === undefined ? '' : `p99 ${formatNumber(b.latency.p99Ms, 2)} ms`, b.correct === null ? '' : b.correct ? 'counts right' : 'COUNTS WRONG'];
}

/** The human summary printed on stderr. */
export function summaryTable(r: BenchResult): string {
  const measures = table([
    ['measure', 'value', 'latency', 'note'],
    ['bulk accepted', `${formatNumber(r.bulk.acceptedPerSec)} likes/s`, `batch p99 ${formatNumber(r.bulk.batchLatency.p99Ms, 2)} ms`, `${r.bulk.events} events, batch ${r.bulk.batch} × ${r.bulk.concurrency}`],
    ['bulk applied', `${formatNumber(r.bulk.appliedPerSec)} likes/s`, '', `every count right after ${formatNumber(r.bulk.applySeconds, 2)} s`],
    ['freshness', `p50 ${formatNumber(r.freshness.p50Ms, 2)} ms`, `p99 ${formatNumber(r.freshness.p99Ms, 2)} ms`, `max ${formatNumber(r.freshness.maxMs, 2)} ms, ${r.freshness.samples} probes`],
    ['single likes (PUT)', `${formatNumber(r.single.reqPerSec)} req/s`, `p99 ${formatNumber(r.single.latency.p99Ms, 2)} ms`, `${r.single.requests} requests`],
    ['reads GET /v1/counts', `${formatNumber(r.reads.countsPerSec)} counts/s`, `p99 ${formatNumber(r.reads.p99Ms, 2)} ms`, `${formatNumber(r.reads.reqPerSec)} req/s × ${r.reads.postsPerCall}, p999 ${formatNumber(r.reads.p999Ms, 2)} ms`],
    ['reads &viewer=', `${formatNumber(r.reads.withViewer.countsPerSec)} counts/s`, `p99 ${formatNumber(r.reads.withViewer.p99Ms, 2)} ms`, `${formatNumber(r.reads.withViewer.reqPerSec)} req/s × ${r.reads.postsPerCall}, with the viewer's flags`],
    ['reads GET …/count', `${formatNumber(r.reads.singleCount.reqPerSec)} req/s`, `p99 ${formatNumber(r.reads.singleCount.latency.p99Ms, 2)} ms`, ''],
    ['reads, one hot post', `${formatNumber(r.reads.hotCount.reqPerSec)} req/s`, `p99 ${formatNumber(r.reads.hotCount.latency.p99Ms, 2)} ms`, `${formatRatio(r.reads.hotCount.vsUniform)} GET …/count of many posts`],
    ['reads under writes', `${formatNumber(r.reads.underWrites.countsPerSec)} counts/s`, `p99 ${formatNumber(r.reads.underWrites.p99Ms, 2)} ms`, `writes ${formatNumber(r.reads.underWrites.writesAcceptedPerSec)} likes/s meanwhile`],
    ...r.paced.map((p) => [
      `paced ${Math.round(p.share * 100)}% (${formatNumber(p.ratePerSec)} likes/s)`,
      `p50 ${formatNumber(p.p50Ms, 2)} ms`,
      `p99 ${formatNumber(p.p99Ms, 2)} ms`,
      `like → visible from the scheduled send; sent ${formatNumber(p.sentPerSec)} likes/s, ${p.samples} probes, ${p.timeouts} timeouts`,
    ]),
    ...(r.liveStreams === null
      ? []
      : [
          [
            'live streams',
            `${formatNumber(r.liveStreams.streams)} open`,
            `p99 ${formatNumber(r.liveStreams.p99Ms, 2)} ms`,
            `202 → SSE event p50 ${formatNumber(r.liveStreams.p50Ms, 2)} ms, ${r.liveStreams.missed} missed; api ${formatNumber(r.liveStreams.apiCores, 2)} cores, RSS ${formatNumber(r.liveStreams.rssBeforeMb)} → ${formatNumber(r.liveStreams.rssMaxMb)} MB`,
          ],
          [
            'with ÷ without streams',
            `reads ${formatRatio(r.liveStreams.readsRatioMedian)}`,
            `writes ${formatRatio(r.liveStreams.writesRatioMedian)}`,
            `median of ${r.liveStreams.pairs.length} alternating pairs: reads ${r.liveStreams.pairs.map((p) => formatRatio(p.readsRatio)).join(' ')}, writes ${r.liveStreams.pairs.map((p) => formatRatio(p.writesRatio)).join(' ')}`,
          ],
          [
            'streams windows CPU',
            `api ${r.liveStreams.pairs.map((p) => `${formatNumber(p.apiCoresWithout, 2)}→${formatNumber(p.apiCoresWith, 2)}`).join(' ')}`,
            '',
            `cores without→with; load generator ${r.liveStreams.pairs.map((p) => `${formatNumber(p.clientCoresWithout, 2)}→${formatNumber(p.clientCoresWith, 2)}`).join(' ')}`,
          ],
        ]),
    ['shares', `ingest ${r.shares.ingest.map((x) => `${Math.round(x * 100)}%`).join(' / ')}`, '', `counter ${r.shares.counter.map((x) => `${Math.round(x * 100)}%`).join(' / ')}`],
    ...(r.redisReadsPerSec === null
      ? []
      : [['Redis reads', `${formatNumber(r.redisReadsPerSec.hotReads)} keys/s`, '', `one hot post; ${formatNumber(r.redisReadsPerSec.singleReads)} for …/count, ${formatNumber(r.redisReadsPerSec.reads)} for /v1/counts`]]),
    ['server CPU', `${formatNumber(r.bulk.server.cpuSecondsPer1kLikes, 4)} s/1k likes`, '', `RSS max ${formatNumber(r.bulk.server.rssMaxMb)} MB; mean batch ingest ${formatNumber(r.bulk.server.ingestBatchMean)}, counter ${formatNumber(r.bulk.server.counterBatchMean)}`],
  ]);
  const baselines = table([
    ['baseline', 'rate', 'latency', 'check'],
    baselineRow('Redis SADD+INCR Lua', r.baselines.redisLua, 'likes/s'),
    baselineRow('PostgreSQL naive', r.baselines.postgresNaive, 'likes/s'),
    baselineRow('fastify hello-world', r.baselines.helloWorld, 'req/s'),
  ]);
  const ratios = table([
    ['ratio (same run)', 'value'],
    ['bulk applied ÷ Redis Lua', formatRatio(r.ratios.bulkAppliedVsRedisLua)],
    ['bulk applied ÷ PostgreSQL naive', formatRatio(r.ratios.bulkAppliedVsPostgresNaive)],
    ['single likes ÷ hello-world', formatRatio(r.ratios.singleVsHelloWorld)],
    ['read requests ÷ hello-world', formatRatio(r.ratios.readRequestsVsHelloWorld)],
  ]);
  const phases = table([
    ['phase', 'seconds', 'server CPU', 'load generator CPU', 'server RSS max', 'api GC (pauses > 10 ms)'],
    ...r.phases.map((p) => [p.name, (p.toS - p.fromS).toFixed(1), p.serverCores === null ? '—' : `${p.serverCores.toFixed(2)} cores`, `${p.clientCores.toFixed(2)} cores`, p.rssMaxMb === null ? '—' : `${formatNumber(p.rssMaxMb)} MB`, gcCell(p)]),
    ...(r.baselines.helloWorld.clientCores === undefined
      ? []
      : [['hello-world baseline', r.baselines.helloWorld.seconds.toFixed(1), r.baselines.helloWorld.serverCores === undefined ? '—' : `${r.baselines.helloWorld.serverCores.toFixed(2)} cores`, `${r.baselines.helloWorld.clientCores.toFixed(2)} cores`, '—', '—']]),
  ]);
  const goals = table([['goal', 'want', 'got', 'met'], ...r.goals.map((g) => [g.name, g.want, formatNumber(g.value, 2), g.met === null ? '—' : g.met ? 'yes' : 'no'])]);
  const skipped = Object.entries(r.baselines)
    .filter(([, b]) => b.skipped !== undefined)
    .map(([name, b]) => `  ${name}: ${b.skipped ?? ''}`);
  const verdict = r.correct
    ? `CORRECT: all ${r.correctness.postsChecked} counts equal the generator's`
    : `WRONG: ${r.correctness.mismatches} of ${r.correctness.postsChecked} counts differ, e.g. ${r.correctness.examples.slice(0, 3).map((m) => `${m.postId} expected ${m.count} got ${m.actual ?? 'nothing'}`).join('; ')}`;
  return [
    `tally bench — ${r.target.description}; load generator: ${r.loadGenerator}; ${r.machine.cpus} CPUs, ${r.machine.memoryGb} GB, node ${r.machine.node}; ${r.seconds} s; load average ${r.machine.loadAverage[0]} → ${r.machine.loadAverage[1]}`,
    '',
    measures,
    '',
    baselines,
    ...(skipped.length > 0 ? ['skipped baselines:', ...skipped] : []),
    '',
    ratios,
    '',
    phases,
    '',
    goals,
    '',
    ...r.notes.map((n) => `note: ${n}`),
    verdict,
    `report: ${r.report}`,
  ].join('\n');
}
