import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Socket } from 'node:net';
import { SseParser } from '../../packages/client/src/sse-parser.ts';
import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from '../histogram.ts';
import { BenchHttp } from '../http-client.ts';
import type { LikeSequence } from '../like-sequence.ts';
import type { LoadGenerator } from '../load-generator.ts';
import { childPids, processCpuSeconds } from '../proc-cpu.ts';
import type { Expectation } from '../verify.ts';

/** One (without, with) pair of load windows: reads and writes per second, and with ÷ without. */
export interface StreamsWindowPair {
  readonly readsWithout: number;
  readonly readsWith: number;
  readonly readsRatio: number;
  readonly writesWithout: number;
  readonly writesWith: number;
  readonly writesRatio: number;
  /** CPU of the api process (null for a URL target) and of the load generators (wrk and this process, which reads the streams) in each window, in cores. */
  readonly apiCoresWithout: number | null;
  readonly apiCoresWith: number | null;
  readonly clientCoresWithout: number;
  readonly clientCoresWith: number;
}

/** What the live-streams phase measured. */
export interface LiveStreamsMeasured {
  readonly streams: number;
  readonly probeLikes: number;
  /** Like's 202 → the SSE event showing it, one sample per (like, stream watching its post). */
  readonly latency: LatencySummary;
  /** (like, stream) pairs whose event did not come within 5 s. */
  readonly missed: number;
  /** The api process's CPU while the streams were open and the probe likes arrived (null for a URL target). */
  readonly apiCores: number | null;
  readonly rssBeforeMb: number | null;
  readonly rssMaxMb: number | null;
  readonly pairs: readonly StreamsWindowPair[];
  readonly readsRatioMedian: number;
  readonly writesRatioMedian: number;
  /** CPU seconds wrk used in the windows (0 with the Node client, whose CPU the phase measures itself). */
  readonly wrkCpuSeconds: number;
  /** The probe posts' final counts (the writes' are in their {@link LikeSequence}). */
  readonly expectations: readonly Expectation[];
}

/** Options of {@link measureLiveStreams}. */
export interface LiveStreamsOptions {
  readonly origin: string;
  readonly pid: number | undefined;
  readonly prefix: string;
  readonly streams: number;
  /** Seconds of probe likes while the streams are open. */
  readonly probeSeconds: number;
  readonly pairs: number;
  readonly windowMs: number;
  /** Connections of the reads and of the writes in each window. */
  readonly connections: number;
  readonly readPaths: readonly string[];
  readonly epoch: number;
}

const PROBES = 50;
const MISS_AFTER_MS = 5000;

/** Resident bytes of the api process and its live children (a stream writer process). */
function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const own = ownRssBytes(pid);
  return own === undefined ? undefined : childPids(pid).reduce((sum, child) => sum + (ownRssBytes(child) ?? 0), own);
}

function ownRssBytes(pid: number): number | undefined {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return undefined;
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** The end of an SSE event (a blank line), whichever line ends the server uses. */
const EVENT_END = /(\r\n|\r|\n)(\r\n|\r|\n)/;
const EVENT_END_AT_END = /(\r\n|\r|\n)(\r\n|\r|\n)$/;
/** Every stream's reads land here; each chunk is decoded before the next read. */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * `streams` open SSE streams; each watches one of 50 probe posts and one of the writes' posts, and
 * reports the counts it sees while `onCount` is set. They stand for clients on other machines, so
 * they cost this shared machine as little as a reader can: raw sockets; outside the probe period
 * the bytes are read and dropped unparsed (a client that parsed them would do it on its own cores),
 * and during a load window they are not read at all ({@link OpenStreams.hold}). Setting `onCount`
 * starts each stream's parser afresh at its next event boundary.
 */
class OpenStreams {
  readonly #sockets: Socket[] = [];
  readonly #parsers: (SseParser | undefined)[] = [];
  /** Whether each stream's text so far ends at an event's end (Tally writes whole events). */
  readonly #atEventEnd: boolean[] = [];
  #onCount: ((stream: number, post: string, count: number, at: number) => void) | undefined;

  set onCount(listener: ((stream: number, post: string, count: number, at: number) => void) | undefined) {
    this.#onCount = listener;
    this.#parsers.fill(undefined);
  }

  static async open(origin: string, streams: number, watched: (i: number) => string[], authorization: string): Promise<OpenStreams> {
    const open = new OpenStreams();
    const url = new URL(origin);
    const auth = authorization === '' ? '' : `authorization: ${authorization}\r\n`;
    try {
      await Promise.all(
        Array.from({ length: streams }, async (_, i) => {
          const path = `/v1/stream/counts?posts=${watched(i).join(',')}`;
          // `onread`: the bytes land in one shared buffer (no Buffer per chunk), and `pause()` stops the reads themselves.
          let take: (text: string) => void = () => undefined;
          const socket = connect({ host: url.hostname, port: Number(url.port || 80), onread: { buffer: READ_BUFFER, callback: (bytes) => (take(READ_BUFFER.toString('utf8', 0, bytes)), true) } });
          open.#sockets.push(socket);
          socket.setNoDelay(true);
          const head = readHead(socket, i);
          take = head.take;
          socket.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\naccept: text/event-stream\r\n${auth}\r\n`);
          const rest = await head.done;
          open.#parsers[i] = undefined;
          open.#atEventEnd[i] = true;
          // A stream the server drops (a slow reader) shows as missed events, not as a crash.
          socket.on('error', () => undefined);
          take = (text) => open.#read(i, text);
          if (rest.length > 0) open.#read(i, rest);
        }),
      );
    } catch (error) {
      await open.close();
      throw error;
    }
    return open;
  }

  #read(stream: number, text: string): void {
    const listener = this.#onCount;
    const atEnd = this.#atEventEnd[stream] === true;
    this.#atEventEnd[stream] = EVENT_END_AT_END.test(text);
    if (listener === undefined) return;
    const at = performance.now();
    let parser = this.#parsers[stream];
    if (parser === undefined) {
      if (!atEnd) {
        // Started mid-event: skip to its end.
        const end = EVENT_END.exec(text);
        if (end === null) return;
        text = text.slice(end.index + end[0].length);
      }
      parser = new SseParser();
      this.#parsers[stream] = parser;
    }
    for (const event of parser.push(text)) {
      if (event.event !== 'count') continue;
      const data = JSON.parse(event.data) as { postId: string; count: number };
      listener(stream, data.postId, data.count, at);
    }
  }

  /**
   * Stops reading the streams: their bytes wait in this machine's kernel, as they would in the
   * network for readers elsewhere, while Tally still writes each of them (on loopback its `write`
   * also runs the receiving side's TCP path, so Tally pays more than it would for remote readers).
   * A few seconds of events stay far below the socket buffers, so Tally never sees a slow reader.
   */
  hold(): void {
    for (const socket of this.#sockets) socket.pause();
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed) resolve();
            else socket.once('close', () => resolve()).destroy();
          }),
      ),
    );
  }
}

/**
 * Reads an SSE response's head from the text given to `take` (the socket's reads): it must be 200
 * with an unchunked body (Tally's streams end with the connection); `done` gives the body bytes
 * read with it, as text.
 */
function readHead(socket: Socket, stream: number): { take: (text: string) => void; done: Promise<string> } {
  let head = '';
  let take: (text: string) => void = () => undefined;
  const done = new Promise<string>((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      socket.off('close', onClose);
      reject(new Error(`live stream ${stream}: ${message}`));
    };
    take = (text) => {
      if (settled) return;
      head += text;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 64 * 1024) fail('no end of the response head in 64 KiB');
        return;
      }
      const lines = head.slice(0, end).split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1];
      if (status !== '200') return fail(`HTTP ${status ?? '?'} (${(lines[0] ?? '').slice(0, 100)}): ${head.slice(end + 4, end + 204)}`);
      if (lines.some((line) => /^transfer-encoding:\s*chunked/i.test(line))) return fail('the body is chunked; this reader expects a stream that ends with its connection');
      settled = true;
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(head.slice(end + 4));
    };
    const onError = (error: Error): void => fail(error.message);
    const onClose = (): void => fail(`the connection closed before the response head (${head.length} bytes read)`);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
  // The executor above has run: `take` is the head's reader now.
  return { take, done };
}

/**
 * The live-streams phase (issue 12): opens `streams` SSE streams, likes 50 probe posts one like at
 * a time (each ~10 times a second) and records, for every stream watching the liked post, the
 * time from the like's 202 to the event carrying its count, with the api's CPU and RSS meanwhile.
 * Reads (GET /v1/counts) and writes (single likes, through `writes`) are measured in alternating
 * windows without and with the streams open, `pairs` times, so a neighbour's load on a shared
 * machine falls on both alike; the ratio per pair and their median say what the streams cost.
 */
export async function measureLiveStreams(http: BenchHttp, load: LoadGenerator, writes: LikeSequence, writePosts: readonly string[], options: LiveStreamsOptions): Promise<LiveStreamsMeasured> {
  const probePosts = Array.from({ length: PROBES }, (_, p) => `${options.prefix}probe${p}`);
  const watched = (i: number): string[] => [probePosts[i % PROBES] as string, writePosts[i % writePosts.length] as string];
  let wrkCpuSeconds = 0;
  const window = async (): Promise<{ reads: number; writes: number; apiCores: number | null; clientCores: number }> => {
    const apiBefore = processCpuSeconds(options.pid);
    const client = process.cpuUsage();
    const started = performance.now();
    const [reads, likes] = await Promise.all([
      load.get(http, { name: 'live streams: reads', origin: options.origin, paths: options.readPaths, durationMs: options.windowMs, connections: options.connections, epoch: options.epoch, progress: false }),
      writes.send(load, http, { origin: options.origin, connections: options.connections, durationMs: options.windowMs, epoch: options.epoch }),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const apiAfter = processCpuSeconds(options.pid);
    const used = process.cpuUsage(client);
    const wrk = (reads.clientCpuSeconds ?? 0) + (likes.clientCpuSeconds ?? 0);
    wrkCpuSeconds += wrk;
    const cores = (cpuSeconds: number): number => Math.round((cpuSeconds / seconds) * 100) / 100;
    return {
      reads: reads.perSec,
      writes: likes.perSec,
      apiCores: apiBefore === undefined || apiAfter === undefined ? null : cores(apiAfter - apiBefore),
      clientCores: cores((used.user + used.system) / 1e6 + wrk),
    };
  };
  const pairs: StreamsWindowPair[] = [];
  const latency = latencyHistogram();
  let probeLikes = 0;
  let missed = 0;
  let apiCores: number | null = null;
  let rssBefore: number | undefined;
  let rssMax: number | undefined;
  let probeCounts: readonly number[] = [];
  const probeHttp = new BenchHttp(options.origin, PROBES);
  try {
    for (let pair = 0; pair < options.pairs; pair++) {
      // Odd pairs measure the window with the streams first: a drift over the phase (the store
      // grows with the writes) then weighs on both sides alike.
      const streamsFirst = pair % 2 === 1;
      const without = streamsFirst ? undefined : await window();
      if (pair === 0) rssBefore = rssBytes(options.pid);
      const streams = await OpenStreams.open(options.origin, options.streams, watched, load.authorization);
      let withStreams;
      try {
        await sleep(500);
        if (pair === 0) {
          const measured = await probe(probeHttp, streams, probePosts, options);
          probeLikes = measured.likes;
          missed = measured.missed;
          apiCores = measured.apiCores;
          rssMax = measured.rssMax;
          probeCounts = measured.counts;
          latency.add(measured.latency);
        }
        // The load window measures what serving the streams costs Tally, not what reading them
        // costs this machine's two cores (the probe above measured their latency, reading).
        streams.hold();
        withStreams = await window();
      } finally {
        await streams.close();
      }
      if (streamsFirst) await sleep(500);
      const before = without ?? (await window());
      pairs.push({
        readsWithout: Math.round(before.reads),
        readsWith: Math.round(withStreams.reads),
        readsRatio: Math.round((withStreams.reads / before.reads) * 1000) / 1000,
        writesWithout: Math.round(before.writes),
        writesWith: Math.round(withStreams.writes),
        writesRatio: Math.round((withStreams.writes / before.writes) * 1000) / 1000,
        apiCoresWithout: before.apiCores,
        apiCoresWith: withStreams.apiCores,
        clientCoresWithout: before.clientCores,
        clientCoresWith: withStreams.clientCores,
      });
    }
  } finally {
    await probeHttp.close();
  }
  const mb = (bytes: number | undefined): number | null => (bytes === undefined ? null : Math.round(bytes / 2 ** 20));
  return {
    streams: options.streams,
    probeLikes,
    latency: summarize(latency),
    missed,
    apiCores,
    rssBeforeMb: mb(rssBefore),
    rssMaxMb: mb(rssMax),
    pairs,
    readsRatioMedian: median(pairs.map((p) => p.readsRatio)),
    writesRatioMedian: median(pairs.map((p) => p.writesRatio)),
    wrkCpuSeconds,
    expectations: probePosts.map((postId, p) => ({ postId, count: probeCounts[p] ?? 0 })),
  };
}

/** Likes each probe post one like at a time, ~10 times a second each, for `probeSeconds`; every stream watching it times the event. */
async function probe(
  http: BenchHttp,
  streams: OpenStreams,
  probePosts: readonly string[],
  options: LiveStreamsOptions,
): Promise<{ likes: number; missed: number; apiCores: number | null; rssMax: number | undefined; latency: Histogram; counts: number[] }> {
  const latency = latencyHistogram();
  interface Pending {
    readonly count: number;
    acceptedAt: number | undefined;
    readonly waiting: Set<number>;
    /** Events that came before the client had read the 202. */
    readonly early: Map<number, number>;
  }
  const pending = new Map<string, Pending>();
  streams.onCount = (stream, post, count, at) => {
    const want = pending.get(post);
    if (want === undefined || count < want.count || !want.waiting.has(stream)) return;
    if (want.acceptedAt === undefined) {
      want.early.set(stream, at);
      return;
    }
    want.waiting.delete(stream);
    recordMs(latency, at - want.acceptedAt);
  };
  const watchers = probePosts.map((_, p) => Array.from({ length: options.streams }, (_, i) => i).filter((i) => i % probePosts.length === p));
  const counts = probePosts.map(() => 0);
  let missed = 0;
  const cpuBefore = processCpuSeconds(options.pid);
  let rssMax = rssBytes(options.pid);
  const rssTimer = setInterval(() => {
    const rss = rssBytes(options.pid);
    if (rss !== undefined) rssMax = Math.max(rssMax ?? 0, rss);
  }, 250);
  const started = performance.now();
  try {
    await Promise.all(
      probePosts.map(async (post, p) => {
        while (performance.now() - started < options.probeSeconds * 1000) {
          const entry: Pending = { count: (counts[p] as number) + 1, acceptedAt: undefined, waiting: new Set(watchers[p]), early: new Map() };
          pending.set(post, entry);
          await http.expectOk('PUT', `/v1/posts/${post}/likes/lsu${entry.count}`);
          const acceptedAt = performance.now();
          entry.acceptedAt = acceptedAt;
          counts[p] = entry.count;
          for (const [stream, at] of entry.early) {
            entry.waiting.delete(stream);
            recordMs(latency, Math.max(0, at - acceptedAt));
          }
          const deadline = acceptedAt + MISS_AFTER_MS;
          while (entry.waiting.size > 0 && performance.now() < deadline) await sleep(2);
          missed += entry.waiting.size;
          await sleep(100);
        }
      }),
    );
  } finally {
    clearInterval(rssTimer);
    streams.onCount = undefined;
  }
  const cpuAfter = processCpuSeconds(options.pid);
  const seconds = (performance.now() - started) / 1000;
  return {
    likes: counts.reduce((a, b) => a + b, 0),
    missed,
    apiCores: cpuBefore === undefined || cpuAfter === undefined ? null : Math.round(((cpuAfter - cpuBefore) / seconds) * 100) / 100,
    rssMax,
    latency,
    counts,
  };
}
