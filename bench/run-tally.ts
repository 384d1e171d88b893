import type { Histogram } from 'hdr-histogram-js';
import { FreshnessProbe, type FreshnessSample } from './freshness-probe.ts';
import { BenchHttp } from './http-client.ts';
import { MetricsSampler } from './metrics-sampler.ts';
import type { BenchOptions } from './options.ts';
import { sendBulk, type BulkSent } from './phases/bulk-writes.ts';
import { sendSingle, type SingleSent } from './phases/single-writes.ts';
import { mergeTimed, timedRequests, type TimedResult } from './phases/timed-requests.ts';
import type { ServerSample } from './prometheus.ts';
import { readPaths } from './read-paths.ts';
import { RedisReads } from './redis-reads.ts';
import { deltas, shares, StageMetrics } from './stage-metrics.ts';
import { waitApplied } from './settle.ts';
import type { Target } from './target.ts';
import { verifyCounts, workloadExpectations, type Expectation, type Mismatch } from './verify.ts';
import { effectiveChanges, postId, type Workload } from './workload.ts';

/** Rounds in which the many-posts and the one-hot-post reads alternate. */
const READ_ROUNDS = 4;

/** The raw measurements of the phases against Tally. */
export interface TallyRun {
  readonly bulk: BulkSent;
  /** ms into the run when every bulk count was right; undefined if never within the timeout. */
  readonly bulkAppliedAt: number | undefined;
  readonly bulkRetries: number;
  readonly bulkServer: { readonly before: ServerSample; readonly after: ServerSample };
  readonly bulkClientCpuSeconds: number;
  readonly reads: TimedResult;
  readonly singleReads: TimedResult;
  /** GET …/count of one post only (the hottest, post 0): every read hits one count. */
  readonly hotReads: TimedResult;
  /** Redis keys looked up per second during each read phase (distributed targets). */
  readonly redisReadsPerSec: { readonly reads: number; readonly singleReads: number; readonly hotReads: number } | null;
  /** Each process's fraction of the bulk phase's events (ingest) and changes (counter). */
  readonly shares: { readonly ingest: readonly number[]; readonly counter: readonly number[] };
  /** CPU seconds the stage processes of a scaled-out target used during the bulk phase. */
  readonly bulkStagesCpuSeconds: number | undefined;
  /** The same per process (scaled-out targets). */
  readonly stageCpuSeconds: { readonly ingest: readonly number[]; readonly counter: readonly number[] } | null;
  readonly single: SingleSent;
  readonly mixedWrites: BulkSent;
  readonly mixedReads: TimedResult;
  readonly freshness: Histogram;
  readonly freshnessSamples: readonly FreshnessSample[];
  readonly freshnessTimeouts: number;
  readonly serverSamples: readonly ServerSample[];
  readonly rssMaxBytes: number | undefined;
  readonly postsChecked: number;
  readonly mismatches: readonly Mismatch[];
  /** Bulk posts still wrong when the bulk phase gave up waiting (they may have converged by the final check). */
  readonly bulkUnsettled: number;
  /** When each phase ran, ms into the run. */
  readonly phases: readonly PhaseWindow[];
}

/** When a phase ran, ms into the run. */
export interface PhaseWindow {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  /** CPU the load generator (this process) used, in cores (1 = one core busy all the time). */
  readonly clientCores: number;
  /** CPU the server used, in cores (from its process_cpu_seconds_total); undefined when not exposed. */
  readonly serverCores: number | undefined;
}

/** Work run between phases (the baselines, next to the phase they are compared with). */
export interface PhaseHooks {
  readonly afterBulk: () => Promise<void>;
  readonly afterSingle: () => Promise<void>;
}

/** Runs bulk, reads, single and mixed phases against a started target, then checks every count. */
export async function runTally(
  target: Target,
  workload: Workload,
  options: BenchOptions,
  epoch: number,
  say: (line: string) => void,
  hooks: PhaseHooks,
  redisUrl: string | undefined,
): Promise<TallyRun> {
  const progress = !options.json || process.stderr.isTTY === true;
  const origin = target.origin;
  const prefix = target.idPrefix;
  const bulkHttp = new BenchHttp(origin, options.bulkConcurrency);
  const http = new BenchHttp(origin, options.concurrency);
  const checkHttp = new BenchHttp(origin, 8);
  const sampler = new MetricsSampler(origin, epoch);
  const probe = new FreshnessProbe(origin, epoch, `${prefix}probe`, options.settleTimeout * 1000);
  const durationMs = options.duration * 1000;
  // A scaled-out target's api runs no counter: the applied changes are the counter processes'.
  const stages = target.stages.length > 0 ? new StageMetrics(target.stages, epoch) : undefined;
  const applied = stages ?? sampler;
  const redis = redisUrl === undefined ? undefined : new RedisReads(redisUrl);
  const redisMeasured = async (work: () => Promise<TimedResult>): Promise<{ result: TimedResult; perSec: number }> =>
    redis === undefined ? { result: await work(), perSec: 0 } : redis.measure(work);
  const gap = workload.spec.minGap;
  const phases: PhaseWindow[] = [];
  const now = (): number => performance.now() - epoch;
  const begin = async (name: string): Promise<() => Promise<void>> => {
    const from = now();
    const client = process.cpuUsage();
    const server = (await sampler.scrape().catch(() => undefined))?.cpuSeconds;
    return async () => {
      const to = now();
      const used = process.cpuUsage(client);
      const serverAfter = (await sampler.scrape().catch(() => undefined))?.cpuSeconds;
      const ms = Math.max(1, to - from);
      phases.push({
        name,
        from,
        to,
        clientCores: (used.user + used.system) / 1000 / ms,
        serverCores: server === undefined || serverAfter === undefined ? undefined : ((serverAfter - server) * 1000) / ms,
      });
    };
  };
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const end = await begin(name);
    const result = await work();
    await end();
    return result;
  };
  try {
    const before = await sampler.scrape();
    const stagesBefore = await stages?.sample();
    const appliedBefore = stages === undefined ? before.changesApplied : (await stages.scrape()).changesApplied;
    sampler.start(250);
    say(`bulk: ${workload.post.length} events, batches of ${options.batch}, ${options.bulkConcurrency} in flight`);
    const bulkExpect = workloadExpectations(workload, `${prefix}p`);
    const bulkChanges = effectiveChanges(workload);
    const cpuBefore = process.cpuUsage();
    probe.start('bulk');
    const bulkEnd = await begin('bulk');
    const bulk = await sendBulk(bulkHttp, workload, { name: 'bulk (POST /v1/events)', prefix: `${prefix}p`, batch: options.batch, concurrency: options.bulkConcurrency, epoch, progress });
    const settled = await waitApplied({
      sampler: applied,
      baseline: appliedBefore,
      expectedChanges: () => bulkChanges + probe.likes,
      verify: () => verifyCounts(checkHttp, bulkExpect),
      timeoutMs: options.settleTimeout * 1000,
      epoch,
    });
    await probe.stop();
    await bulkEnd();
    const cpu = process.cpuUsage(cpuBefore);
    const after = await sampler.scrape();
    const stagesAfter = await stages?.sample();
    const bulkShares =
      stagesBefore === undefined || stagesAfter === undefined
        ? { ingest: [1], counter: [1] }
        : { ingest: shares(stagesBefore.ingested, stagesAfter.ingested), counter: shares(stagesBefore.applied, stagesAfter.applied) };
    const bulkRetries = bulkHttp.retries;
    await hooks.afterBulk();

    const paths = readPaths({ posts: options.posts, zipf: options.zipf, perCall: options.readPosts, prefix: `${prefix}p`, seed: options.seed, count: 2048 });
    say(`reads: GET /v1/counts with ${options.readPosts} posts per call, ${options.concurrency} in flight, ${options.duration} s`);
    const reads = await redisMeasured(() => timed('reads', () => timedRequests(http, { name: 'reads (GET /v1/counts)', method: 'GET', paths: paths.batch, durationMs, concurrency: options.concurrency, epoch, progress })));
    // GET …/count of many posts and of one hot post alternate in rounds, so a neighbour's load
    // on a shared machine falls on both alike and their ratio means something.
    const hotPath = `/v1/posts/${postId(`${prefix}p`, 0)}/count`;
    say(`reads: GET /v1/posts/{p}/count (many posts) and ${hotPath} (one hot post), alternating in ${READ_ROUNDS} rounds, ${options.concurrency} in flight, ${options.duration} s each`);
    const singleRounds: { result: TimedResult; perSec: number }[] = [];
    const hotRounds: { result: TimedResult; perSec: number }[] = [];
    const roundMs = durationMs / READ_ROUNDS;
    const endSingleAndHot = await begin('single + hot reads');
    for (let round = 0; round < READ_ROUNDS; round++) {
      singleRounds.push(await redisMeasured(() => timedRequests(http, { name: `reads (GET …/count) ${round + 1}/${READ_ROUNDS}`, method: 'GET', paths: paths.single, durationMs: roundMs, concurrency: options.concurrency, epoch, progress })));
      hotRounds.push(await redisMeasured(() => timedRequests(http, { name: `reads (one hot post) ${round + 1}/${READ_ROUNDS}`, method: 'GET', paths: [hotPath], durationMs: roundMs, concurrency: options.concurrency, epoch, progress })));
    }
    await endSingleAndHot();
    // Redis lookups: the quietest round's rate. Other clients of a shared Redis only add to the
    // server's counters, so the smallest round is the closest upper bound of this api's own.
    const merged = (rounds: readonly { result: TimedResult; perSec: number }[]): { result: TimedResult; perSec: number } => ({
      result: mergeTimed(rounds.map((r) => r.result)),
      perSec: Math.min(...rounds.map((r) => r.perSec)),
    });
    const singleReads = merged(singleRounds);
    const hotReads = merged(hotRounds);

    say(`single: PUT/DELETE one like per request, ${options.concurrency} in flight, ${options.duration} s`);
    const single = await timed('single likes', () => sendSingle(http, workload, { prefix: `${prefix}s`, concurrency: options.concurrency, window: gap, durationMs, epoch, progress }));

    await hooks.afterSingle();

    say(`mixed: bulk writes and batch reads at once, ${options.duration} s`);
    const mixedEnd = await begin('mixed');
    probe.start('mixed');
    const mixedHttp = new BenchHttp(origin, options.bulkConcurrency);
    let mixedWrites: BulkSent;
    let mixedReads: TimedResult;
    try {
      [mixedWrites, mixedReads] = await Promise.all([
        sendBulk(mixedHttp, workload, { name: 'mixed writes', prefix: `${prefix}m`, batch: options.batch, concurrency: options.bulkConcurrency, epoch, durationMs, progress: false }),
        timedRequests(http, { name: 'mixed (reads + writes)', method: 'GET', paths: paths.batch, durationMs, concurrency: options.concurrency, epoch, progress }),
      ]);
    } finally {
      await mixedHttp.close();
    }
    await probe.stop();
    await mixedEnd();

    say('check: waiting until every count is applied, then comparing each with the generator');
    const everything: Expectation[] = [
      ...bulkExpect,
      ...workloadExpectations(workload, `${prefix}s`, single.requests),
      ...workloadExpectations(workload, `${prefix}m`, mixedWrites.events),
      { postId: probe.post, count: probe.likes },
    ];
    const totalChanges = bulkChanges + effectiveChanges(workload, single.requests) + effectiveChanges(workload, mixedWrites.events) + probe.likes;
    const final = await waitApplied({
      sampler: applied,
      baseline: appliedBefore,
      expectedChanges: () => totalChanges,
      verify: () => verifyCounts(checkHttp, everything),
      timeoutMs: options.settleTimeout * 1000,
      epoch,
    });
    sampler.stop();
    return {
      bulk,
      bulkAppliedAt: settled.mismatches.length === 0 ? settled.appliedAt : undefined,
      bulkRetries,
      bulkServer: { before, after },
      bulkClientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      reads: reads.result,
      singleReads: singleReads.result,
      hotReads: hotReads.result,
      redisReadsPerSec: redis === undefined ? null : { reads: reads.perSec, singleReads: singleReads.perSec, hotReads: hotReads.perSec },
      shares: bulkShares,
      stageCpuSeconds:
        stagesBefore === undefined || stagesAfter === undefined
          ? null
          : { ingest: deltas(stagesBefore.ingestCpu, stagesAfter.ingestCpu), counter: deltas(stagesBefore.counterCpu, stagesAfter.counterCpu) },
      bulkStagesCpuSeconds: stagesBefore === undefined || stagesAfter === undefined ? undefined : stagesAfter.cpuSeconds - stagesBefore.cpuSeconds,
      single,
      mixedWrites,
      mixedReads,
      freshness: probe.histogram,
      freshnessSamples: probe.samples,
      freshnessTimeouts: probe.timeouts,
      serverSamples: sampler.samples,
      rssMaxBytes: sampler.maxRss(),
      postsChecked: everything.length,
      mismatches: final.mismatches,
      bulkUnsettled: settled.mismatches.length,
      phases,
    };
  } finally {
    await probe.close().catch(() => undefined);
    await redis?.close();
    await sampler.close().catch(() => undefined);
    await Promise.all([bulkHttp.close(), http.close(), checkHttp.close()]).catch(() => undefined);
  }
}
