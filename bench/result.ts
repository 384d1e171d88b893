import type { BaselineResult } from './baselines/baseline-result.ts';
import type { LatencySummary } from './histogram.ts';
import type { LiveStreamsMeasured } from './phases/live-streams.ts';
import type { Mismatch } from './verify.ts';

/** Everything one run measured; `--json` prints it as the last line of stdout. */
export interface BenchResult {
  readonly tool: 'tally-bench';
  readonly startedAt: string;
  readonly seconds: number;
  readonly command: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGb: number;
    readonly node: string;
    /** 1-minute load average when the run started and ended: other work on a shared machine skews every number. */
    readonly loadAverage: readonly [number, number];
  };
  readonly target: { readonly kind: string; readonly description: string };
  /** What sent the request-rate phases (reads, single likes, hello-world, the streams windows): wrk, or the Node client (asked for, or wrk missing: see the notes). */
  readonly loadGenerator: 'wrk' | 'node';
  readonly workload: {
    readonly events: number;
    readonly posts: number;
    readonly postsTouched: number;
    readonly users: number;
    readonly zipf: number;
    readonly hotShare: number;
    readonly likes: number;
    readonly unlikes: number;
    readonly seed: number;
    readonly minGap: number;
  };
  /** Every count the run wrote equals the generator's: the gate. */
  readonly correct: boolean;
  readonly correctness: { readonly postsChecked: number; readonly mismatches: number; readonly examples: readonly Mismatch[] };
  readonly bulk: {
    readonly events: number;
    readonly batch: number;
    readonly concurrency: number;
    readonly acceptSeconds: number;
    readonly applySeconds: number | null;
    readonly acceptedPerSec: number;
    /** Events ÷ seconds from the first request until every count was right. */
    readonly appliedPerSec: number | null;
    readonly retries: number;
    readonly batchLatency: LatencySummary;
    readonly server: {
      readonly cpuSeconds: number | null;
      readonly cpuSecondsPer1kLikes: number | null;
      readonly rssMaxMb: number | null;
      /** Mean items per ingest / counter transaction during the bulk phase (what SQLite commit cost depends on). */
      readonly ingestBatchMean: number | null;
      readonly counterBatchMean: number | null;
    };
    readonly clientCpuSeconds: number;
  };
  /** `requests` answered; `sent` built by the load generator (wrk stops with some in flight), `acknowledged` answered 2xx. */
  readonly single: { readonly requests: number; readonly sent: number; readonly acknowledged: number; readonly seconds: number; readonly reqPerSec: number; readonly latency: LatencySummary };
  readonly reads: {
    readonly postsPerCall: number;
    readonly countsPerSec: number;
    readonly reqPerSec: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly p999Ms: number;
    readonly latency: LatencySummary;
    /** The same calls with `&viewer=` (counts plus the viewer's own liked flags: the timeline case). */
    readonly withViewer: { readonly countsPerSec: number; readonly reqPerSec: number; readonly p50Ms: number; readonly p99Ms: number; readonly latency: LatencySummary };
    readonly singleCount: { readonly reqPerSec: number; readonly latency: LatencySummary };
    /** GET …/count of one post only; `vsUniform` = its req/s ÷ singleCount's (counts/s, one count per request). */
    readonly hotCount: { readonly reqPerSec: number; readonly vsUniform: number | null; readonly latency: LatencySummary };
    readonly underWrites: { readonly countsPerSec: number; readonly reqPerSec: number; readonly p99Ms: number; readonly latency: LatencySummary; readonly writesAcceptedPerSec: number };
  };
  /** `reads`: the probe's reads of its count that did not show the like yet (the probe's own load on the server). */
  readonly freshness: { readonly samples: number; readonly timeouts: number; readonly reads: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly latency: LatencySummary };
  /**
   * Likes at a constant share of `bulk.appliedPerSec`, open loop; like → visible from each probe
   * like's scheduled send time (corrected for coordinated omission). Empty when skipped.
   */
  readonly paced: readonly PacedFigure[];
  /** The live-streams phase (issue 12); null when skipped (--streams 0). */
  readonly liveStreams: LiveStreamsFigure | null;
  /** Per stage, each process's fraction of the bulk phase's events (ingest) or changes (counter), from the stages' own metrics. */
  readonly shares: { readonly ingest: readonly number[]; readonly counter: readonly number[] };
  /** CPU seconds each ingest / counter process used during the bulk phase (scaled-out targets only). */
  readonly stageCpuSeconds: { readonly ingest: readonly number[]; readonly counter: readonly number[] } | null;
  /** Redis keys looked up per second in each read phase (INFO stats); null when the target has no Redis. */
  readonly redisReadsPerSec: { readonly reads: number; readonly singleReads: number; readonly hotReads: number } | null;
  readonly baselines: { readonly redisLua: BaselineResult; readonly postgresNaive: BaselineResult; readonly helloWorld: BaselineResult & { readonly reqPerSec: number | null } };
  readonly ratios: Ratios;
  readonly goals: readonly Goal[];
  /** When each phase ran, in seconds since the server was started (the time axis of a `--profile`), or since the run started for a URL target. */
  readonly phases: readonly {
    readonly name: string;
    readonly fromS: number;
    readonly toS: number;
    /** CPU cores the load generator / the server used during the phase: a phase near 1.0 on one side is bound by that side. */
    readonly clientCores: number;
    readonly serverCores: number | null;
    /** Share of the phase the server's api thread spent in garbage collection, and its pauses over 10 ms (requests wait through them). */
    readonly serverGcShare: number | null;
    readonly serverGcPausesOver10ms: number | null;
    /** The server's largest RSS seen during the phase (samples every 250 ms), MiB. */
    readonly rssMaxMb: number | null;
  }[];
  readonly notes: readonly string[];
  readonly report: string;
}

/** One rate of the paced phase. */
export interface PacedFigure {
  readonly share: number;
  readonly ratePerSec: number;
  /** Likes sent ÷ the phase's seconds (under `ratePerSec` when the sender could not keep the clock: see `maxSendLagMs`). */
  readonly sentPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly samples: number;
  readonly timeouts: number;
  readonly maxSendLagMs: number;
}

/** The live-streams phase's figures. */
/** What the report keeps of the live-streams phase: its measures, with the latency summarised. */
export type LiveStreamsFigure = Pick<
  LiveStreamsMeasured,
  'streams' | 'probeLikes' | 'missed' | 'apiCores' | 'rssBeforeMb' | 'rssMaxMb' | 'pairs' | 'readsRatioMedian' | 'writesRatioMedian'
> & {
  /** A like's 202 → the SSE event showing it, one sample per (like, stream watching the post). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly samples: number;
};

/** Tally ÷ baseline, each measured in the same run; null when the baseline was skipped. */
export interface Ratios {
  readonly bulkAppliedVsRedisLua: number | null;
  readonly bulkAppliedVsPostgresNaive: number | null;
  readonly singleVsHelloWorld: number | null;
  readonly readRequestsVsHelloWorld: number | null;
}

/** One goal of the benchmark issue and whether this run reached it. */
export interface Goal {
  readonly name: string;
  readonly want: string;
  readonly value: number | null;
  readonly met: boolean | null;
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : Math.round((a / b) * 1000) / 1000;
}

/** The ratios against each baseline. */
export function computeRatios(input: {
  bulkAppliedPerSec: number | null;
  singleReqPerSec: number;
  readReqPerSec: number;
  redisPerSec: number | null;
  postgresPerSec: number | null;
  helloPerSec: number | null;
}): Ratios {
  return {
    bulkAppliedVsRedisLua: ratio(input.bulkAppliedPerSec, input.redisPerSec),
    bulkAppliedVsPostgresNaive: ratio(input.bulkAppliedPerSec, input.postgresPerSec),
    singleVsHelloWorld: ratio(input.singleReqPerSec, input.helloPerSec),
    readRequestsVsHelloWorld: ratio(input.readReqPerSec, input.helloPerSec),
  };
}

/** The goals of the issue that apply to this target. */
export function evaluateGoals(input: {
  targetKind: string;
  bulkAppliedPerSec: number | null;
  freshnessP99Ms: number;
  countsPerSec: number;
  viewerCountsPerSec: number;
  ratios: Ratios;
  paced: readonly PacedFigure[];
  liveStreams: LiveStreamsFigure | null;
}): Goal[] {
  const atLeast = (name: string, want: string, value: number | null, min: number): Goal => ({ name, want, value, met: value === null ? null : value >= min });
  const atMost = (name: string, want: string, value: number | null, max: number): Goal => ({ name, want, value, met: value === null ? null : value <= max });
  const pacedP99 = (share: number): number | null => input.paced.find((p) => p.share === share)?.p99Ms ?? null;
  const streams = input.liveStreams;
  const worstStreamsEffect = streams === null ? null : Math.round(Math.max(1 - streams.readsRatioMedian, 1 - streams.writesRatioMedian) * 1000) / 1000;
  const streamsGoals = (p99Max: number): Goal[] => [
    atMost('live streams: like → SSE event p99 ms', `≤ ${p99Max}`, streams?.p99Ms ?? null, p99Max),
    atMost('live streams: reads/writes slowed by (median of pairs)', '≤ 0.1', worstStreamsEffect, 0.1),
  ];
  if (input.targetKind === 'distributed') {
    return [
      atLeast('distributed bulk applied likes/s', '≥ 50000', input.bulkAppliedPerSec, 50_000),
      atMost('distributed freshness p99 ms', '≤ 1000', input.freshnessP99Ms, 1000),
      atMost('distributed paced 50% freshness p99 ms', '≤ 500', pacedP99(0.5), 500),
      ...streamsGoals(1000),
    ];
  }
  return [
    atLeast('bulk applied likes/s', '≥ 100000', input.bulkAppliedPerSec, 100_000),
    atLeast('bulk applied ÷ Redis Lua', '≥ 1.2', input.ratios.bulkAppliedVsRedisLua, 1.2),
    atMost('freshness p99 ms', '≤ 100', input.freshnessP99Ms, 100),
    atLeast('single likes ÷ hello-world', '≥ 0.7', input.ratios.singleVsHelloWorld, 0.7),
    atLeast('batch reads counts/s', '≥ 1000000', input.countsPerSec, 1_000_000),
    atLeast('batch reads with viewer counts/s', '≥ 1000000', input.viewerCountsPerSec, 1_000_000),
    atMost('paced 80% freshness p99 ms', '≤ 100', pacedP99(0.8), 100),
    ...streamsGoals(200),
  ];
}
