/**
 * What 1,000 open live streams cost the api process, in CPU (less sensitive than throughput to a
 * loaded, shared machine; not part of `npm test`):
 *   ./tally node bench/measure/live-streams-cost.measure.ts [--streams 1000] [--rate 3000]
 *     [--posts 200] [--seconds 5] [--rounds 3] [--serve-args="--stream-interval-ms 100"] [--profile DIR]
 * Starts an embedded `./tally serve` and sends likes open loop at a constant `--rate` (a
 * `POST /v1/events` every 10 ms, new users over `--posts` posts), the same in every window. Each
 * round measures a window without streams, then opens `--streams` streams (each watching one of
 * the liked posts and one quiet post, as the bench's streams phase does) and measures a window
 * with them. The likes cost the same in both windows, so the difference in the api's CPU (the
 * whole process with its stream writer process (the default `--stream-writer process`), and its
 * main thread, which serves HTTP and, with `--stream-writer main`, writes the streams) is what the
 * streams cost; divided by the socket writes the reader saw, it is the cost of one flush of one
 * stream.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { processCpuSeconds } from '../proc-cpu.ts';
import { startTarget } from '../target.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '3000' },
    posts: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'serve-args': { type: 'string', default: '' },
    profile: { type: 'string' },
  },
});
const STREAMS = Number(values.streams);
const RATE = Number(values.rate);
const POSTS = Number(values.posts);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const serveArgs = values['serve-args'].split(' ').filter((a) => a !== '');

/** CPU seconds of one thread of a process (the main thread: `tid` = `pid`). */
function threadCpuSeconds(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Likes sent open loop: every 10 ms, as many new users as the clock says are due at `RATE`, round robin over the posts. */
class Liker {
  readonly #pool: Pool;
  #timer: NodeJS.Timeout | undefined;
  #next = 0;
  #inFlight = 0;
  accepted = 0;
  skipped = 0;

  constructor(origin: string) {
    this.#pool = new Pool(origin, { connections: 8, pipelining: 1 });
  }

  start(): void {
    const started = performance.now();
    let due = 0;
    this.#timer = setInterval(() => {
      // A late timer (this process also reads the streams) sends more at once, so every window gets `RATE`.
      const perTick = Math.round(((performance.now() - started) / 1000) * RATE) - due;
      if (perTick <= 0) return;
      due += perTick;
      if (this.#inFlight >= 32) {
        this.skipped += perTick;
        return;
      }
      const events = Array.from({ length: perTick }, () => {
        const k = this.#next++;
        return { op: 'like', postId: `w${k % POSTS}`, userId: `c${k}` };
      });
      this.#inFlight++;
      void this.#pool
        .request({ method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) })
        .then(async (res) => {
          await res.body.text();
          if (res.statusCode === 202) this.accepted += events.length;
        })
        .catch(() => undefined)
        .finally(() => this.#inFlight--);
    }, 10);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#pool.close();
  }
}

/** The streams, read in this process: counts the events and the reads (one per socket write, or fewer when writes merge). */
async function openStreams(origin: string): Promise<{ events: number; chunks: number; close(): Promise<void> }> {
  const pool = new Pool(origin, { connections: STREAMS, pipelining: 1, bodyTimeout: 0, headersTimeout: 30_000 });
  const state = { events: 0, chunks: 0 };
  const bodies: { destroy(): void }[] = [];
  await Promise.all(
    Array.from({ length: STREAMS }, async (_, i) => {
      const res = await pool.request({ method: 'GET', path: `/v1/stream/counts?posts=w${i % POSTS},quiet${i}`, headers: { accept: 'text/event-stream' } });
      if (res.statusCode !== 200) throw new Error(`stream ${i}: HTTP ${res.statusCode}`);
      bodies.push(res.body);
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => {
        state.chunks++;
        for (let at = chunk.indexOf('event: count'); at !== -1; at = chunk.indexOf('event: count', at + 1)) state.events++;
      });
      res.body.on('error', () => undefined);
    }),
  );
  return {
    get events() {
      return state.events;
    },
    get chunks() {
      return state.chunks;
    },
    async close() {
      for (const body of bodies) body.destroy();
      await pool.destroy();
    },
  };
}

interface Window {
  readonly apiCores: number;
  readonly mainThreadCores: number;
  readonly readerCores: number;
  readonly likesPerSec: number;
  readonly eventsPerSec: number;
  readonly chunksPerSec: number;
}

async function measure(pid: number, liker: Liker, counted?: { events: number; chunks: number }): Promise<Window> {
  const api = processCpuSeconds(pid) ?? 0;
  const main = threadCpuSeconds(pid, pid);
  const self = process.cpuUsage();
  const accepted = liker.accepted;
  const events = counted?.events ?? 0;
  const chunks = counted?.chunks ?? 0;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const s = (performance.now() - started) / 1000;
  const used = process.cpuUsage(self);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    apiCores: r(((processCpuSeconds(pid) ?? 0) - api) / s),
    mainThreadCores: r((threadCpuSeconds(pid, pid) - main) / s),
    readerCores: r((used.user + used.system) / 1e6 / s),
    likesPerSec: Math.round((liker.accepted - accepted) / s),
    eventsPerSec: Math.round(((counted?.events ?? 0) - events) / s),
    chunksPerSec: Math.round(((counted?.chunks ?? 0) - chunks) / s),
  };
}

const target = await startTarget('embedded', serveArgs, values.profile);
/** Seconds since the server was spawned (a CPU profile's clock, for bench/profile-summary.ts --from/--to). */
const sinceSpawn = (): string => ((performance.now() - (target.spawnedAt ?? 0)) / 1000).toFixed(1);
const pid = target.pid ?? 0;
const liker = new Liker(target.origin);
const rows: { round: number; without: Window; with: Window }[] = [];
try {
  liker.start();
  await sleep(2000);
  for (let round = 1; round <= ROUNDS; round++) {
    const without = await measure(pid, liker);
    const streams = await openStreams(target.origin);
    await sleep(1000);
    const from = sinceSpawn();
    const withStreams = await measure(pid, liker, streams);
    process.stderr.write(`round ${round}: streams window ${from}–${sinceSpawn()} s after the server started\n`);
    await streams.close();
    await sleep(500);
    rows.push({ round, without, with: withStreams });
    process.stderr.write(`round ${round}: ${JSON.stringify({ without, with: withStreams })}\n`);
  }
} finally {
  await liker.stop();
  await target.stop();
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const delta = rows.map((r) => r.with.apiCores - r.without.apiCores);
const deltaMain = rows.map((r) => r.with.mainThreadCores - r.without.mainThreadCores);
const chunks = rows.map((r) => r.with.chunksPerSec);
const summary = {
  streams: STREAMS,
  rate: RATE,
  serveArgs: serveArgs.join(' '),
  rows,
  apiCoresAddedMedian: Math.round(median(delta) * 1000) / 1000,
  mainThreadCoresAddedMedian: Math.round(median(deltaMain) * 1000) / 1000,
  eventsPerSecMedian: median(rows.map((r) => r.with.eventsPerSec)),
  chunksPerSecMedian: median(chunks),
  /** Main-thread CPU µs per chunk the reader received (≈ one flush of one stream). */
  mainThreadMicrosPerChunk: Math.round((median(deltaMain) / Math.max(1, median(chunks))) * 1e6 * 10) / 10,
  readerCoresMedian: median(rows.map((r) => r.with.readerCores)),
  likesSkipped: liker.skipped,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
