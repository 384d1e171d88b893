import { resolve } from 'node:path';
import { parseCommandLine, UsageError } from '../src/cli/args.ts';
import { ROOT } from './root.ts';
import type { WorkloadSpec } from './workload.ts';

/** Which baseline a run measures. */
export type BaselineName = 'redis' | 'postgres' | 'hello';

/** Every option of `./tally bench`, validated; the workload's are those of {@link WorkloadSpec}. */
export interface BenchOptions extends Omit<WorkloadSpec, 'minGap'> {
  readonly batch: number;
  readonly bulkConcurrency: number;
  readonly concurrency: number;
  /** Seconds each timed phase runs (single likes, reads, mixed, hello-world, PostgreSQL). */
  readonly duration: number;
  readonly readPosts: number;
  /** Distributed target: ingest / counter processes of their own (0: inside the `serve` process). */
  readonly ingestProcs: number;
  readonly counterProcs: number;
  readonly baselineEvents: number;
  readonly baselines: ReadonlySet<BaselineName>;
  /** `embedded`, `distributed` or the base URL of a running Tally. */
  readonly target: string;
  readonly serveArgs: readonly string[];
  readonly settleTimeout: number;
  readonly profileDir: string | undefined;
  /** `wrk` (installed by scripts/ensure-wrk.sh when missing; the Node client when that fails) or `node`. */
  readonly loadGenerator: 'wrk' | 'node';
  /** Shares of the bulk capacity the paced phase sends at, in order; empty: no paced phase. */
  readonly pacedShares: readonly number[];
  /** Likes/s the paced shares are of; 0: this run's bulk applied rate. */
  readonly pacedCapacity: number;
  /** Live-streams phase: streams open (0: no phase), (without, with) window pairs and seconds per window. */
  readonly streams: number;
  readonly streamPairs: number;
  readonly streamWindow: number;
  /** A file holding a bearer token every request carries (a target started with --auth jwt). */
  readonly tokenFile: string | undefined;
  /** Absolute path of the HTML report. */
  readonly report: string;
  readonly json: boolean;
  readonly quick: boolean;
  readonly help: boolean;
}

/** A bad command line; the message names the option, the value and what is allowed. */
export class BenchUsageError extends Error {}

interface NumberSpec {
  readonly flag: string;
  readonly key: keyof BenchOptions;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  readonly full: number;
  readonly quick: number;
  readonly doc: string;
}

const NUMBERS: readonly NumberSpec[] = [
  { flag: 'events', key: 'events', min: 1, max: 50_000_000, integer: true, full: 1_000_000, quick: 100_000, doc: 'like/unlike events in the bulk workload' },
  { flag: 'posts', key: 'posts', min: 1, max: 10_000_000, integer: true, full: 100_000, quick: 10_000, doc: 'posts the events spread over (Zipf popularity)' },
  { flag: 'users', key: 'users', min: 1, max: 100_000_000, integer: true, full: 10_000_000, quick: 10_000_000, doc: 'users drawn uniformly' },
  { flag: 'zipf', key: 'zipf', min: 0, max: 5, integer: false, full: 1.2, quick: 1.2, doc: 'Zipf exponent s of post popularity' },
  { flag: 'hot-share', key: 'hotShare', min: 0, max: 1, integer: false, full: 0, quick: 0, doc: 'share of likes on one single hot post (post 0); 0 = none' },
  { flag: 'unlike-share', key: 'unlikeShare', min: 0, max: 0.9, integer: false, full: 0.1, quick: 0.1, doc: 'share of events that unlike an earlier like' },
  { flag: 'batch', key: 'batch', min: 1, max: 100_000, integer: true, full: 1000, quick: 1000, doc: 'events per POST /v1/events' },
  { flag: 'bulk-concurrency', key: 'bulkConcurrency', min: 1, max: 256, integer: true, full: 8, quick: 8, doc: 'bulk requests in flight' },
  { flag: 'concurrency', key: 'concurrency', min: 1, max: 1024, integer: true, full: 64, quick: 64, doc: 'requests in flight for single likes, reads and hello-world' },
  { flag: 'seed', key: 'seed', min: 0, max: 4_294_967_295, integer: true, full: 42, quick: 42, doc: 'seed of the workload generator' },
  { flag: 'duration', key: 'duration', min: 0.2, max: 3600, integer: false, full: 10, quick: 5, doc: 'seconds of each timed phase (single likes, reads, mixed, baselines)' },
  { flag: 'read-posts', key: 'readPosts', min: 1, max: 500, integer: true, full: 50, quick: 50, doc: 'posts per GET /v1/counts' },
  { flag: 'ingest-procs', key: 'ingestProcs', min: 0, max: 16, integer: true, full: 0, quick: 0, doc: 'distributed: ingest processes of their own (0: in the serve process)' },
  { flag: 'counter-procs', key: 'counterProcs', min: 0, max: 16, integer: true, full: 0, quick: 0, doc: 'distributed: counter processes of their own (0: in the serve process)' },
  { flag: 'baseline-events', key: 'baselineEvents', min: 1, max: 20_000_000, integer: true, full: 200_000, quick: 50_000, doc: 'first events of the workload replayed into Redis and PostgreSQL' },
  { flag: 'streams', key: 'streams', min: 0, max: 10_000, integer: true, full: 1000, quick: 1000, doc: 'live-streams phase: SSE streams open at once; 0 skips the phase' },
  { flag: 'stream-pairs', key: 'streamPairs', min: 1, max: 20, integer: true, full: 4, quick: 2, doc: 'live-streams phase: pairs of load windows without and with the streams (every second pair measures with the streams first)' },
  { flag: 'stream-window', key: 'streamWindow', min: 1, max: 60, integer: true, full: 3, quick: 3, doc: 'live-streams phase: seconds of each load window' },
  { flag: 'paced-capacity', key: 'pacedCapacity', min: 0, max: 10_000_000, integer: true, full: 0, quick: 0, doc: 'likes/s the --paced shares are of; 0: the bulk applied rate of this run (a fixed rate compares two builds at the same load)' },
  { flag: 'settle-timeout', key: 'settleTimeout', min: 1, max: 3600, integer: false, full: 120, quick: 60, doc: 'seconds to wait for every count to be applied before declaring the run wrong' },
];

const BASELINES: readonly BaselineName[] = ['redis', 'postgres', 'hello'];

/** `./tally bench --help`. */
export function benchHelp(): string {
  const rows = NUMBERS.map((n) => `  --${n.flag.padEnd(18)} ${n.doc} (default ${n.full}; --quick ${n.quick})`);
  return `tally bench: throughput, freshness and read speed of Tally against Redis, PostgreSQL and hello-world baselines

usage: ./tally bench [options]

Phases, in order, on one deterministic workload (N events over P posts, Zipf(s), users from U,
90% likes / 10% unlikes of earlier likes; the generator knows every post's final count):
  bulk      POST /v1/events in batches; accepted likes/s and applied likes/s (until every count is right)
  baselines Redis SADD+INCR Lua, pipelined; PostgreSQL one transaction per like on 16 connections
            (the first --baseline-events events; Tally idles meanwhile)
  reads     GET /v1/counts (--read-posts per call), the same with &viewer=, and
            GET /v1/posts/{p}/count, idle
  single    PUT one like per request, a new user each time
  baseline  fastify hello-world in a child process, same client and concurrency
  mixed     bulk writes and batch reads at once
  freshness a probe like every 25 ms during bulk and mixed: 2xx → count visible
  paced     likes at a constant rate, 50% then 80% of the bulk applied rate (--paced), open
            loop: like → visible p50/p99 from each like's scheduled send time
  streams   --streams SSE streams open with likes arriving: like's 202 → SSE event; reads and
            writes without and with the streams in --stream-pairs alternating windows
  check     every count equals the generator's; otherwise "correct": false and exit code 1
Each baseline runs next to the phase it is compared with: on a shared machine only ratios taken
close together mean much.

options:
${rows.join('\n')}
  --target X           embedded (default: ./tally serve on a temporary folder), distributed
                       (./tally serve --distributed, unique --namespace) or http://host:port of a running Tally
  --ingest-procs N, --counter-procs N
                       with --target distributed: api, cdc, N ingest and N counter as separate
                       processes (./tally api|cdc|ingest|counter); 0 for both runs one serve process.
                       "shares" in the results: each process's fraction of the events / changes
  --serve-args="..."   extra options for the started server, e.g. --serve-args="--partitions 8"
  --baselines LIST     comma list of redis, postgres, hello, or none (default all); Redis and
                       PostgreSQL are started with ./tally services up when unreachable, and
                       skipped with a note when that fails
  --no-baselines       same as --baselines none
  --profile DIR        run the started server (with --ingest-procs/--counter-procs, every process) under
                       node --cpu-prof, one profile per process written to DIR
  --token-file PATH    send Authorization: Bearer <the file's token> on every request, for a target
                       with --auth jwt (e.g. ./tally token --sub bench --scope "likes:write likers:read")
  --load-generator X   wrk (default) or node: the request-rate phases (reads, single likes,
                       hello-world, the streams windows) run through wrk, the native load generator
                       (scripts/ensure-wrk.sh installs Debian's wrk when missing; when it cannot,
                       the Node client runs them and the results say so), or the Node client
  --paced LIST         shares of the bulk applied rate for the paced phase (default 0.5,0.8), or none
  --report PATH        HTML report (default bench-results/report-<timestamp>.html)
  --json               last line of stdout: the results as one JSON object
  --quick              smaller defaults (the --quick column above): a few minutes at most
  --help               this text
`;
}

/** Parses and validates the bench command line; throws {@link BenchUsageError}. */
export function parseBenchOptions(argv: readonly string[], now = new Date()): BenchOptions {
  let parsed;
  try {
    parsed = parseCommandLine(
      argv,
      {
        ...Object.fromEntries(NUMBERS.map((n) => [n.flag, 'string' as const])),
        target: 'string',
        'serve-args': 'string',
        baselines: 'string',
        'no-baselines': 'boolean',
        profile: 'string',
        'token-file': 'string',
        'load-generator': 'string',
        paced: 'string',
        report: 'string',
        json: 'boolean',
        quick: 'boolean',
        help: 'boolean',
      },
      0,
      './tally bench --help lists the options',
    );
  } catch (error) {
    if (error instanceof UsageError) throw new BenchUsageError(error.message);
    throw error;
  }
  const raw = Object.fromEntries(parsed.flags);
  const on = (flag: string): boolean => ['true', '1', 'yes'].includes(raw[flag] ?? '');
  const values: Record<string, string | boolean | undefined> = { ...raw, 'no-baselines': on('no-baselines'), json: on('json'), quick: on('quick'), help: on('help') };
  const quick = values.quick === true;
  const numbers: Record<string, number> = {};
  for (const spec of NUMBERS) {
    const raw = values[spec.flag];
    numbers[spec.key] = typeof raw === 'string' ? parseNumber(spec, raw) : quick ? spec.quick : spec.full;
  }
  const target = parseTarget(typeof values.target === 'string' ? values.target : 'embedded');
  if (target !== 'distributed' && ((numbers.ingestProcs ?? 0) > 0 || (numbers.counterProcs ?? 0) > 0)) {
    throw new BenchUsageError(`--ingest-procs and --counter-procs need --target distributed (got --target ${target})`);
  }
  const baselines = values['no-baselines'] === true ? new Set<BaselineName>() : parseBaselines(typeof values.baselines === 'string' ? values.baselines : 'redis,postgres,hello');
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    events: numbers.events as number,
    posts: numbers.posts as number,
    users: numbers.users as number,
    zipf: numbers.zipf as number,
    hotShare: numbers.hotShare as number,
    unlikeShare: numbers.unlikeShare as number,
    batch: numbers.batch as number,
    bulkConcurrency: numbers.bulkConcurrency as number,
    concurrency: numbers.concurrency as number,
    seed: numbers.seed as number,
    duration: numbers.duration as number,
    readPosts: numbers.readPosts as number,
    ingestProcs: numbers.ingestProcs as number,
    counterProcs: numbers.counterProcs as number,
    baselineEvents: numbers.baselineEvents as number,
    settleTimeout: numbers.settleTimeout as number,
    baselines,
    target,
    serveArgs: typeof values['serve-args'] === 'string' ? values['serve-args'].split(/\s+/).filter((a) => a.length > 0) : [],
    profileDir: typeof values.profile === 'string' ? values.profile : undefined,
    loadGenerator: parseLoadGenerator(typeof values['load-generator'] === 'string' ? values['load-generator'] : 'wrk'),
    pacedShares: parsePaced(typeof values.paced === 'string' ? values.paced : '0.5,0.8'),
    pacedCapacity: numbers.pacedCapacity as number,
    streams: numbers.streams as number,
    streamPairs: numbers.streamPairs as number,
    streamWindow: numbers.streamWindow as number,
    tokenFile: typeof values['token-file'] === 'string' ? resolve(values['token-file']) : undefined,
    report: typeof values.report === 'string' ? resolve(values.report) : resolve(ROOT, `bench-results/report-${stamp}.html`),
    json: values.json === true,
    quick,
    help: values.help === true,
  };
}

function parseNumber(spec: NumberSpec, raw: string): number {
  const value = /^\s*-?(\d+\.?\d*|\.\d+)(e\d+)?\s*$/i.test(raw) ? Number(raw) : Number.NaN;
  const ok = Number.isFinite(value) && value >= spec.min && value <= spec.max && (!spec.integer || Number.isInteger(value));
  if (!ok) throw new BenchUsageError(`--${spec.flag} must be ${spec.integer ? 'an integer' : 'a number'} from ${spec.min} to ${spec.max}, got "${raw}"`);
  return value;
}

function parseTarget(raw: string): string {
  if (raw === 'embedded' || raw === 'distributed') return raw;
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' && url.pathname === '/' && url.search === '') return url.origin;
  } catch {
    // falls through to the message below
  }
  throw new BenchUsageError(`--target must be embedded, distributed or a URL like http://127.0.0.1:8080, got "${raw}"`);
}

function parseLoadGenerator(raw: string): 'wrk' | 'node' {
  if (raw === 'wrk' || raw === 'node') return raw;
  throw new BenchUsageError(`--load-generator must be wrk or node, got "${raw}"`);
}

function parsePaced(raw: string): number[] {
  if (raw.trim() === 'none') return [];
  const shares = raw.split(',').map((s) => s.trim());
  for (const share of shares) {
    const value = Number(share);
    if (share === '' || !Number.isFinite(value) || value <= 0 || value > 2) throw new BenchUsageError(`--paced takes a comma list of shares of the bulk rate, each above 0 and at most 2 (e.g. 0.5,0.8), or none; got "${share}"`);
  }
  return shares.map(Number);
}

function parseBaselines(raw: string): Set<BaselineName> {
  if (raw.trim() === 'none') return new Set();
  const names = raw.split(',').map((n) => n.trim()).filter((n) => n.length > 0);
  const bad = names.find((n) => !(BASELINES as readonly string[]).includes(n));
  if (bad !== undefined) throw new BenchUsageError(`--baselines takes a comma list of ${BASELINES.join(', ')} or none, got "${bad}"`);
  return new Set(names as BaselineName[]);
}

/** The smallest distance, in events, between two events of one (post, user) that keeps them ordered. */
export function orderingGap(options: Pick<BenchOptions, 'batch' | 'bulkConcurrency' | 'concurrency'>): number {
  return Math.max(options.batch * options.bulkConcurrency, options.concurrency, POSTGRES_CONNECTIONS);
}

/** Connections of the PostgreSQL baseline (the seed's relational starting point). */
export const POSTGRES_CONNECTIONS = 16;
