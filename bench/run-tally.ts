import { setTimeout as sleep } from 'node:timers/promises';
import type { Histogram } from 'hdr-histogram-js';
import { FreshnessProbe, type FreshnessSample } from './freshness-probe.ts';
import { BenchHttp } from './http-client.ts';
import { MetricsSampler } from './metrics-sampler.ts';
import type { BenchOptions } from './options.ts';
import { sendBulk, type BulkSent } from './phases/bulk-writes.ts';
import { LikeSequence } from './like-sequence.ts';
import type { LoadGenerator, LoadResult } from './load-generator.ts';
import { measureLiveStreams, type LiveStreamsMeasured } from './phases/live-streams.ts';
import { sendPaced, type PacedSent } from './phases/paced-likes.ts';
import { mergeTimed, timedRequests, type TimedResult } from './phases/timed-requests.ts';
import { runOrdered } from './ordered-runner.ts';
import type { ServerSample } from './prometheus.ts';
import { readPaths } from './read-paths.ts';
import { RedisReads } from './redis-reads.ts';
import { deltas, shares, StageMetrics } from './stage-metrics.ts';
import { waitApplied } from './settle.ts';
import type { Target } from './target.ts';
import { verifyCounts, workloadExpectations, type Expectation, type Mismatch } from './verify.ts';
import { effectiveChanges, postId, userId, type Workload } from './workload.ts';

/** Rounds in which the many-posts and the one-hot-post reads alternate. */
const READ_ROUNDS = 4;
/** ms between two batches of the paced phase. */
const PACED_TICK_MS = 10;

/** The raw measurements of the phases against Tally. */
export interface TallyRun {
  readonly bulk: BulkSent;
  /** ms into the run when every bulk count was right; undefined if never within the timeout. */
  readonly bulkAppliedAt: number | undefined;
  readonly bulkRetries: number;
  readonly bulkServer: { readonly before: ServerSample; readonly after: ServerSample };
  readonly bulkClientCpuSeconds: number;
  readonly reads: TimedResult;
  /** GET /v1/counts with &viewer= (the timeline case: counts and the viewer's own flags). */
  readonly readsViewer: TimedResult;
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
  readonly single: TimedResult;
  /** Single likes built (sent or in flight when the phase stopped) and acknowledged with a 2xx. */
  readonly singleSent: number;
  readonly singleAcknowledged: number;
  /** Paced rates (empty when skipped: `pacedSkipped` says why). */
  readonly paced: readonly PacedSent[];
  readonly pacedSkipped: string | undefined;
  readonly liveStreams: LiveStreamsMeasured | null;
  readonly mixedWrites: BulkSent;
  readonly mixedReads: TimedResult;
  readonly freshness: Histogram;
  readonly freshnessSamples: readonly FreshnessSample[];
  readonly freshnessTimeouts: number;
  readonly freshnessReads: number;
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
  /** Share of the phase the server's api thread spent in garbage collection; undefined when not exposed. */
  readonly serverGcShare: number | undefined;
  /** Garbage-collection pauses over 10 ms on the server's api thread during the phase. */
  readonly serverGcPausesOver10ms: number | undefined;
}

/** Work run between phases (the baselines, next to the phase they are compared with). */
export interface PhaseHooks {
  readonly afterBulk: () => Promise<void>;
  readonly afterSingle: (load: LoadGenerator) => Promise<void>;
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
  load: LoadGenerator,
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
  // After a wrk phase of single likes: every post's count within [sent − unanswered, sent] (see LikeSequence).
  const settleBounds = async (sequence: LikeSequence, what: string): Promise<void> => {
    const deadline = performance.now() + options.settleTimeout * 1000;
    for (;;) {
      const wrong = await sequence.checkBounds(checkHttp);
      if (wrong.length === 0) return;
      if (performance.now() > deadline) {
        boundsFailures.push(...wrong.map((m) => ({ ...m, postId: `${m.postId} (${what}: count outside [sent − unanswered, sent])` })));
        return;
      }
      await sleep(100);
    }
  };
  const boundsFailures: Mismatch[] = [];
  const phases: PhaseWindow[] = [];
  const now = (): number => performance.now() - epoch;
  const begin = async (name: string): Promise<(externalClientCpuSeconds?: number) => Promise<void>> => {
    const from = now();
    const client = process.cpuUsage();
    const before = await sampler.scrape().catch(() => undefined);
    return async (externalClientCpuSeconds = 0) => {
      const to = now();
      const used = process.cpuUsage(client);
      const after = await sampler.scrape().catch(() => undefined);
      const ms = Math.max(1, to - from);
      /** How much a server metric grew during the phase (undefined when either scrape lacks it). */
      const delta = (pick: (s: ServerSample) => number | undefined): number | undefined => {
        const a = before === undefined ? undefined : pick(before);
        const b = after === undefined ? undefined : pick(after);
        return a === undefined || b === undefined ? undefined : b - a;
      };
      /** A server's seconds of something per second of the phase. */
      const perPhaseSecond = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : (seconds * 1000) / ms);
      phases.push({
        name,
        from,
        to,
        clientCores: ((used.user + used.system) / 1000 + externalClientCpuSeconds * 1000) / ms,
        serverCores: perPhaseSecond(delta((s) => s.cpuSeconds)),
        serverGcShare: perPhaseSecond(delta((s) => s.gcSeconds)),
        serverGcPausesOver10ms: delta((s) => s.gcPausesOver10ms),
      });
    };
  };
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const end = await begin(name);
    const result = await work();
    await end();
    return result;
  };
  // A phase of the load generator: its CPU is wrk's (plus this process's, idle meanwhile) or this process's.
  const loaded = async <T extends LoadResult>(name: string, work: () => Promise<T>): Promise<T> => {
    const end = await begin(name);
    const result = await work();
    await end(result.clientCpuSeconds ?? 0);
    return result;
  };
  const get = (name: string, paths: readonly string[], ms = durationMs): Promise<LoadResult> =>
    load.get(http, { name, origin, paths, durationMs: ms, connections: options.concurrency, epoch, progress });
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
    const reads = await redisMeasured(() => loaded('reads', () => get('reads (GET /v1/counts)', paths.batch)));
    const viewerPaths = paths.batch.map((path, c) => `${path}&viewer=${userId(workload.user[(c * 7919) % workload.user.length] as number)}`);
    say(`reads: GET /v1/counts with ${options.readPosts} posts and &viewer=, ${options.concurrency} in flight, ${options.duration} s`);
    const readsViewer = await loaded('reads with viewer', () => get('reads (GET /v1/counts&viewer=)', viewerPaths));
    // GET …/count of many posts and of one hot post alternate in rounds, so a neighbour's load
    // on a shared machine falls on both alike and their ratio means something.
    const hotPath = `/v1/posts/${postId(`${prefix}p`, 0)}/count`;
    say(`reads: GET /v1/posts/{p}/count (many posts) and ${hotPath} (one hot post), alternating in ${READ_ROUNDS} rounds, ${options.concurrency} in flight, ${options.duration} s each`);
    const singleRounds: { result: TimedResult; perSec: number }[] = [];
    const hotRounds: { result: TimedResult; perSec: number }[] = [];
    const roundMs = durationMs / READ_ROUNDS;
    const endSingleAndHot = await begin('single + hot reads');
    let roundsClientCpu = 0;
    const round = async (name: string, roundPaths: readonly string[]): Promise<TimedResult> => {
      const result = await get(name, roundPaths, roundMs);
      roundsClientCpu += result.clientCpuSeconds ?? 0;
      return result;
    };
    for (let r = 0; r < READ_ROUNDS; r++) {
      singleRounds.push(await redisMeasured(() => round(`reads (GET …/count) ${r + 1}/${READ_ROUNDS}`, paths.single)));
      hotRounds.push(await redisMeasured(() => round(`reads (one hot post) ${r + 1}/${READ_ROUNDS}`, [hotPath])));
    }
    await endSingleAndHot(roundsClientCpu);
    // Redis lookups: the quietest round's rate. Other clients of a shared Redis only add to the
    // server's counters, so the smallest round is the closest upper bound of this api's own.
    const merged = (rounds: readonly { result: TimedResult; perSec: number }[]): { result: TimedResult; perSec: number } => ({
      result: mergeTimed(rounds.map((r) => r.result)),
      perSec: Math.min(...rounds.map((r) => r.perSec)),
    });
    const singleReads = merged(singleRounds);
    const hotReads = merged(hotRounds);

    say(`single: PUT one like per request (a new user each), ${options.concurrency} in flight, ${options.duration} s`);
    const singlePosts = Array.from({ length: Math.min(workload.post.length, 1 << 18) }, (_, i) => postId(`${prefix}s`, workload.post[i] as number));
    const singleLikes = new LikeSequence(load, singlePosts, 'w');
    const single = await loaded('single likes', () => singleLikes.send(load, http, { origin, connections: options.concurrency, durationMs, epoch }));
    await settleBounds(singleLikes, 'single likes');

    await hooks.afterSingle(load);

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

    // The mixed phase's backlog is applied before the paced and streams phases (else they would
    // measure that backlog).
    say('waiting until the mixed writes are applied');
    const mixedExpect = workloadExpectations(workload, `${prefix}m`, mixedWrites.events);
    await waitApplied({
      sampler: applied,
      baseline: appliedBefore,
      expectedChanges: () => bulkChanges + singleLikes.sent + effectiveChanges(workload, mixedWrites.events) + probe.likes,
      verify: () => verifyCounts(checkHttp, mixedExpect),
      timeoutMs: options.settleTimeout * 1000,
      epoch,
    });

    // Paced: likes at a constant share of the bulk capacity this run measured, open loop.
    const paced: PacedSent[] = [];
    const measured = settled.mismatches.length === 0 && settled.appliedAt !== undefined ? bulk.events / ((settled.appliedAt - bulk.startedAt) / 1000) : undefined;
    const capacity = options.pacedCapacity > 0 ? options.pacedCapacity : measured;
    const pacedSkipped = options.pacedShares.length === 0 ? 'not selected (--paced none)' : capacity === undefined ? 'no bulk applied rate (the bulk counts never settled)' : undefined;
    if (capacity !== undefined && pacedSkipped === undefined) {
      const pacedHttp = new BenchHttp(origin, 32);
      const poller = new BenchHttp(origin, 1);
      try {
        for (const share of options.pacedShares) {
          const ratePerSec = Math.round(capacity * share);
          say(`paced: ${ratePerSec} likes/s (${share} × ${options.pacedCapacity > 0 ? '--paced-capacity' : 'the bulk applied rate'} ${Math.round(capacity)}), open loop, ${options.duration} s`);
          paced.push(
            await timed(`paced ${Math.round(share * 100)}%`, () =>
              sendPaced(pacedHttp, poller, workload, { share, ratePerSec, durationMs, prefix: `${prefix}q${Math.round(share * 100)}_`, tickMs: PACED_TICK_MS, probes: 8, timeoutMs: options.settleTimeout * 1000 }),
            ),
          );
        }
      } finally {
        await Promise.all([pacedHttp.close(), poller.close()]);
      }
    }

    let liveStreams: LiveStreamsMeasured | null = null;
    const streamWrites = new LikeSequence(load, Array.from({ length: 200 }, (_, i) => `${prefix}lw${i}`), 'x');
    if (options.streams > 0) {
      say(`streams: ${options.streams} SSE streams with likes arriving; reads and writes without and with them in ${options.streamPairs} alternating pairs of ${options.streamWindow} s windows`);
      const endStreams = await begin('live streams');
      liveStreams = await measureLiveStreams(http, load, streamWrites, Array.from({ length: 200 }, (_, i) => `${prefix}lw${i}`), {
          origin,
          pid: target.pid,
          prefix: `${prefix}ls`,
          streams: options.streams,
          probeSeconds: options.duration,
          pairs: options.streamPairs,
          windowMs: options.streamWindow * 1000,
          connections: Math.max(1, Math.floor(options.concurrency / 2)),
          readPaths: paths.batch,
          epoch,
        });
      await endStreams(liveStreams.wrkCpuSeconds);
      await settleBounds(streamWrites, 'live-streams writes');
    }

    // Every like of the wrk sequences once more (a no-op for those applied): the unanswered ones
    // wrk left in flight are then applied too, and every such post must count exactly its likes.
    for (const sequence of [singleLikes, streamWrites]) {
      const bodies = sequence.replayBodies(options.batch);
      await runOrdered({ count: bodies.length, concurrency: options.bulkConcurrency, window: bodies.length + 1, task: async (b) => void (await checkHttp.expectOk('POST', '/v1/events', bodies[b])) });
    }

    say('check: waiting until every count is applied, then comparing each with the generator');
    const everything: Expectation[] = [
      ...bulkExpect,
      ...singleLikes.expectations(),
      ...streamWrites.expectations(),
      ...paced.flatMap((p) => p.expectations),
      ...(liveStreams?.expectations ?? []),
      ...mixedExpect,
      { postId: probe.post, count: probe.likes },
    ];
    const totalChanges =
      bulkChanges +
      singleLikes.sent +
      streamWrites.sent +
      paced.reduce((sum, p) => sum + p.likes, 0) +
      (liveStreams?.probeLikes ?? 0) +
      effectiveChanges(workload, mixedWrites.events) +
      probe.likes;
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
      readsViewer,
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
      singleSent: singleLikes.sent,
      singleAcknowledged: singleLikes.acknowledged,
      paced,
      pacedSkipped,
      liveStreams,
      mixedWrites,
      mixedReads,
      freshness: probe.histogram,
      freshnessSamples: probe.samples,
      freshnessTimeouts: probe.timeouts,
      freshnessReads: probe.reads,
      serverSamples: sampler.samples,
      rssMaxBytes: sampler.maxRss(),
      postsChecked: everything.length,
      mismatches: [...boundsFailures, ...final.mismatches],
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
