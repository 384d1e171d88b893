import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { BaselineRunner } from './baselines/baseline-runner.ts';
import { BenchHttp } from './http-client.ts';
import { LoadGenerator } from './load-generator.ts';
import { locateWrk } from './wrk-client.ts';
import { percentileCurve, summarize, type CurvePoint } from './histogram.ts';
import { orderingGap, type BenchOptions } from './options.ts';
import type { TimedResult } from './phases/timed-requests.ts';
import { ratesFromCumulative, type RatePoint } from './rate-series.ts';
import { computeRatios, evaluateGoals, type BenchResult, type LiveStreamsFigure, type PacedFigure } from './result.ts';
import { runTally, type TallyRun } from './run-tally.ts';
import { redisUrlOf } from './redis-reads.ts';
import { startTarget } from './target.ts';
import { generateWorkload } from './workload.ts';
import type { FreshnessSample } from './freshness-probe.ts';
import { maxRss } from './metrics-sampler.ts';

/** Series the HTML report draws (not part of the JSON line). */
export interface ChartData {
  readonly bulkAccepted: readonly RatePoint[];
  readonly bulkApplied: readonly RatePoint[];
  readonly bulkWindow: { readonly from: number; readonly to: number };
  readonly freshness: readonly FreshnessSample[];
  readonly latencyCurves: readonly { readonly name: string; readonly points: readonly CurvePoint[] }[];
  readonly serverRssMb: readonly { readonly t: number; readonly value: number }[];
}

const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

function batchMean(itemsBefore = 0, itemsAfter: number | undefined, batchesBefore = 0, batchesAfter: number | undefined): number | null {
  if (itemsAfter === undefined || batchesAfter === undefined || batchesAfter <= batchesBefore) return null;
  return round((itemsAfter - itemsBefore) / (batchesAfter - batchesBefore));
}

/**
 * wrk when asked for and installable (scripts/ensure-wrk.sh), else the Node client, with a note
 * (and a line on stderr) saying so: a Node client may be what bounds the request-rate phases.
 */
function loadGenerator(wanted: 'wrk' | 'node', notes: string[], say: (line: string) => void): LoadGenerator {
  if (wanted === 'node') {
    notes.push('load generator: the Node client (--load-generator node); its CPU per phase shows whether it was the bound');
    return new LoadGenerator(undefined, BenchHttp.authorization);
  }
  const found = locateWrk();
  if ('path' in found) {
    say(`load generator: ${found.path} (one thread) for the request-rate phases`);
    notes.push('load generator: wrk (one thread) for reads, single likes, hello-world and the streams windows; the Node client for bulk, mixed, paced, freshness and checks');
    return new LoadGenerator(found.path, BenchHttp.authorization);
  }
  const warning = `WRK MISSING, the Node client ran the request-rate phases instead, and may have been their bound: ${found.missing}`;
  say(warning);
  notes.push(warning);
  return new LoadGenerator(undefined, BenchHttp.authorization);
}

/** Runs the whole benchmark: workload, Tally phases, baselines; returns the results and the report's series. */
export async function runBench(options: BenchOptions, argv: readonly string[], say: (line: string) => void): Promise<{ result: BenchResult; charts: ChartData }> {
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? 0;
  const epoch = performance.now();
  const notes: string[] = [];
  const minGap = orderingGap(options);
  say(`workload: ${options.events} events over ${options.posts} posts, Zipf ${options.zipf}, users from ${options.users}, seed ${options.seed}`);
  const workload = generateWorkload({
    events: options.events,
    posts: options.posts,
    users: options.users,
    zipf: options.zipf,
    hotShare: options.hotShare,
    unlikeShare: options.unlikeShare,
    seed: options.seed,
    minGap,
  });

  const progress = !options.json || process.stderr.isTTY === true;
  const baselines = new BaselineRunner(options, workload, epoch, progress, say);
  await baselines.prepare();

  if (options.tokenFile !== undefined) BenchHttp.useBearerToken(readFileSync(options.tokenFile, 'utf8').trim());
  const load = loadGenerator(options.loadGenerator, notes, say);
  say(`target: ${options.target}`);
  let target;
  try {
    target = await startTarget(options.target, options.serveArgs, options.profileDir, { ingest: options.ingestProcs, counter: options.counterProcs });
  } catch (error) {
    load.close();
    throw error;
  }
  say(`target: ${target.description} at ${target.origin}`);
  let run: TallyRun;
  try {
    run = await runTally(
      target,
      workload,
      options,
      epoch,
      say,
      { afterBulk: () => baselines.writes(), afterSingle: (generator) => baselines.http(generator) },
      target.kind === 'distributed' ? redisUrlOf(options.serveArgs) : undefined,
      load,
    );
  } finally {
    say('target: stopping');
    await target.stop();
    load.close();
  }
  notes.push(...baselines.notes);
  const zero = target.spawnedAt === undefined ? 0 : target.spawnedAt - epoch;
  const hello = baselines.hello;

  const bulkEvents = run.bulk.events;
  const acceptSeconds = (run.bulk.acceptedAt - run.bulk.startedAt) / 1000;
  const applySeconds = run.bulkAppliedAt === undefined ? null : (run.bulkAppliedAt - run.bulk.startedAt) / 1000;
  const appliedPerSec = applySeconds === null ? null : round(bulkEvents / applySeconds);
  const cpuBefore = run.bulkServer.before.cpuSeconds;
  const cpuAfter = run.bulkServer.after.cpuSeconds;
  const serverCpu = cpuBefore === undefined || cpuAfter === undefined ? null : round(cpuAfter - cpuBefore + (run.bulkStagesCpuSeconds ?? 0), 3);
  const reads = summarize(run.reads.latency);
  const mixedReads = summarize(run.mixedReads.latency);
  const freshness = summarize(run.freshness);
  const mixedSeconds = (run.mixedWrites.acceptedAt - run.mixedWrites.startedAt) / 1000;
  const ratios = computeRatios({
    bulkAppliedPerSec: appliedPerSec,
    singleReqPerSec: run.single.perSec,
    readReqPerSec: run.reads.perSec,
    redisPerSec: baselines.redis.perSec,
    postgresPerSec: baselines.postgres.perSec,
    helloPerSec: hello.perSec,
  });
  const countsPerSec = round(run.reads.perSec * options.readPosts);
  const viewerReads = summarize(run.readsViewer.latency);
  const viewerCountsPerSec = round(run.readsViewer.perSec * options.readPosts);
  const paced: PacedFigure[] = run.paced.map((p) => {
    const s = summarize(p.latency);
    return { share: p.share, ratePerSec: p.ratePerSec, sentPerSec: round(p.sentPerSec), p50Ms: s.p50Ms, p99Ms: s.p99Ms, p999Ms: s.p999Ms, maxMs: s.maxMs, samples: s.count, timeouts: p.timeouts, maxSendLagMs: round(p.maxSendLagMs, 1) };
  });
  if (run.pacedSkipped !== undefined) notes.push(`paced phase skipped: ${run.pacedSkipped}`);
  for (const p of paced) {
    if (p.maxSendLagMs > 50) notes.push(`paced ${p.share}: the sender started a batch up to ${p.maxSendLagMs} ms late (this process was busy); latencies still count from the scheduled time`);
  }
  const streams = run.liveStreams;
  const liveStreams: LiveStreamsFigure | null =
    streams === null
      ? null
      : {
          streams: streams.streams,
          probeLikes: streams.probeLikes,
          p50Ms: streams.latency.p50Ms,
          p99Ms: streams.latency.p99Ms,
          maxMs: streams.latency.maxMs,
          samples: streams.latency.count,
          missed: streams.missed,
          apiCores: streams.apiCores,
          rssBeforeMb: streams.rssBeforeMb,
          rssMaxMb: streams.rssMaxMb,
          pairs: streams.pairs,
          readsRatioMedian: streams.readsRatioMedian,
          writesRatioMedian: streams.writesRatioMedian,
        };
  if (run.singleSent > run.singleAcknowledged) {
    notes.push(`single likes: ${run.singleSent} built, ${run.singleAcknowledged} answered 2xx; the ${run.singleSent - run.singleAcknowledged} left in flight (or refused) when the load generator stopped were replayed before the final check`);
  }
  if (run.bulkUnsettled > 0) notes.push(`bulk counts were still wrong for ${run.bulkUnsettled} posts after ${options.settleTimeout} s; no applied rate`);
  if (options.profileDir !== undefined) {
    notes.push(`CPU profile in ${options.profileDir}; phase windows (s since server start, for bench/profile-summary.ts --from/--to): ${run.phases.map((p) => `${p.name} ${((p.from - zero) / 1000).toFixed(1)}–${((p.to - zero) / 1000).toFixed(1)}`).join(', ')}`);
  }
  if (target.kind === 'distributed') {
    notes.push(
      target.stages.length > 0
        ? 'bulk server CPU is the api and every stage process together; RSS and the phases\' server CPU are the api process only (Kafka, PostgreSQL and Redis not included)'
        : 'server CPU and RSS are the tally process only (Kafka, PostgreSQL and Redis not included)',
    );
    notes.push(
      'redisReadsPerSec: keys Redis looked up per second (INFO stats keyspace_hits + keyspace_misses) during each read phase; for the alternating …/count phases, the quietest of their rounds (other clients of a shared Redis add to the counters)',
    );
  }
  notes.push(`ordering: two events of one (post, user) are ≥ ${minGap} events apart in the workload and the generator never has them in flight together`);

  const result: BenchResult = {
    tool: 'tally-bench',
    startedAt: startedAt.toISOString(),
    seconds: round((performance.now() - epoch) / 1000, 1),
    command: `./tally bench ${argv.join(' ')}`.trim(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 2 ** 30, 1), node: process.version, loadAverage: [round(loadAtStart, 2), round(loadavg()[0] ?? 0, 2)] },
    target: { kind: target.kind, description: target.description },
    loadGenerator: load.kind,
    workload: {
      events: options.events,
      posts: options.posts,
      postsTouched: new Set(workload.post).size,
      users: options.users,
      zipf: options.zipf,
      hotShare: options.hotShare,
      likes: workload.likes,
      unlikes: workload.unlikes,
      seed: options.seed,
      minGap,
    },
    correct: run.mismatches.length === 0,
    correctness: { postsChecked: run.postsChecked, mismatches: run.mismatches.length, examples: run.mismatches.slice(0, 10) },
    bulk: {
      events: bulkEvents,
      batch: options.batch,
      concurrency: options.bulkConcurrency,
      acceptSeconds: round(acceptSeconds, 3),
      applySeconds: applySeconds === null ? null : round(applySeconds, 3),
      acceptedPerSec: round(bulkEvents / acceptSeconds),
      appliedPerSec,
      retries: run.bulkRetries,
      batchLatency: summarize(run.bulk.latency),
      server: {
        cpuSeconds: serverCpu,
        cpuSecondsPer1kLikes: serverCpu === null ? null : round((serverCpu * 1000) / bulkEvents, 5),
        rssMaxMb: mibOrNull(run.rssMaxBytes),
        ingestBatchMean: batchMean(run.bulkServer.before.ingestItems, run.bulkServer.after.ingestItems, run.bulkServer.before.ingestBatches, run.bulkServer.after.ingestBatches),
        counterBatchMean: batchMean(run.bulkServer.before.counterItems, run.bulkServer.after.counterItems, run.bulkServer.before.counterBatches, run.bulkServer.after.counterBatches),
      },
      clientCpuSeconds: round(run.bulkClientCpuSeconds, 3),
    },
    single: { requests: run.single.requests, sent: run.singleSent, acknowledged: run.singleAcknowledged, seconds: round(run.single.seconds, 3), reqPerSec: round(run.single.perSec), latency: summarize(run.single.latency) },
    reads: {
      postsPerCall: options.readPosts,
      countsPerSec,
      reqPerSec: round(run.reads.perSec),
      p50Ms: reads.p50Ms,
      p99Ms: reads.p99Ms,
      p999Ms: reads.p999Ms,
      latency: reads,
      withViewer: { countsPerSec: viewerCountsPerSec, reqPerSec: round(run.readsViewer.perSec), p50Ms: viewerReads.p50Ms, p99Ms: viewerReads.p99Ms, latency: viewerReads },
      singleCount: { reqPerSec: round(run.singleReads.perSec), latency: summarize(run.singleReads.latency) },
      hotCount: {
        reqPerSec: round(run.hotReads.perSec),
        vsUniform: run.singleReads.perSec > 0 ? round(run.hotReads.perSec / run.singleReads.perSec, 2) : null,
        latency: summarize(run.hotReads.latency),
      },
      underWrites: {
        countsPerSec: round(run.mixedReads.perSec * options.readPosts),
        reqPerSec: round(run.mixedReads.perSec),
        p99Ms: mixedReads.p99Ms,
        latency: mixedReads,
        writesAcceptedPerSec: mixedSeconds > 0 ? round(run.mixedWrites.events / mixedSeconds) : 0,
      },
    },
    freshness: { samples: freshness.count, timeouts: run.freshnessTimeouts, reads: run.freshnessReads, p50Ms: freshness.p50Ms, p99Ms: freshness.p99Ms, maxMs: freshness.maxMs, latency: freshness },
    paced,
    liveStreams,
    shares: run.shares,
    stageCpuSeconds: run.stageCpuSeconds,
    redisReadsPerSec: run.redisReadsPerSec,
    baselines: { redisLua: baselines.redis, postgresNaive: baselines.postgres, helloWorld: { ...hello, reqPerSec: hello.perSec } },
    ratios,
    goals: evaluateGoals({ targetKind: target.kind, bulkAppliedPerSec: appliedPerSec, freshnessP99Ms: freshness.p99Ms, countsPerSec, viewerCountsPerSec, ratios, paced, liveStreams }),
    phases: run.phases.map((p) => ({
      name: p.name,
      fromS: round((p.from - zero) / 1000, 2),
      toS: round((p.to - zero) / 1000, 2),
      clientCores: round(p.clientCores, 2),
      serverCores: p.serverCores === undefined ? null : round(p.serverCores, 2),
      serverGcShare: p.serverGcShare === undefined ? null : round(p.serverGcShare, 3),
      serverGcPausesOver10ms: p.serverGcPausesOver10ms ?? null,
      rssMaxMb: mibOrNull(maxRss(run.serverSamples, p.from, p.to)),
    })),
    notes,
    report: options.report,
  };

  const bulkTo = run.bulkAppliedAt ?? run.bulk.acceptedAt;
  const applied = run.serverSamples
    .filter((s) => s.changesApplied !== undefined && s.t >= run.bulk.startedAt - 250 && s.t <= bulkTo + 500)
    .map((s) => ({ t: s.t, value: s.changesApplied as number }));
  const curve = (name: string, timed: TimedResult | undefined, histogram = timed?.latency) => ({ name, points: histogram === undefined ? [] : percentileCurve(histogram) });
  const charts: ChartData = {
    bulkAccepted: run.bulk.accepted.points(run.bulk.startedAt, bulkTo + 250),
    bulkApplied: ratesFromCumulative(applied),
    bulkWindow: { from: run.bulk.startedAt, to: bulkTo },
    freshness: run.freshnessSamples,
    latencyCurves: [
      curve('bulk batch POST', undefined, run.bulk.latency),
      curve('single PUT', undefined, run.single.latency),
      curve('GET /v1/counts (idle)', run.reads),
      curve('GET /v1/counts&viewer= (idle)', run.readsViewer),
      curve('GET /v1/counts (under writes)', run.mixedReads),
      curve('GET …/count', run.singleReads),
      curve('GET …/count, one hot post', run.hotReads),
      curve('freshness', undefined, run.freshness),
      ...run.paced.map((p) => curve(`paced ${Math.round(p.share * 100)}% freshness`, undefined, p.latency)),
      curve('hello-world', baselines.helloTimed),
    ],
    serverRssMb: run.serverSamples.filter((s) => s.rssBytes !== undefined).map((s) => ({ t: s.t, value: (s.rssBytes as number) / 2 ** 20 })),
  };
  return { result, charts };
}

/** Bytes as whole MiB; null when unknown. */
function mibOrNull(bytes: number | undefined): number | null {
  return bytes === undefined ? null : round(bytes / 2 ** 20);
}
