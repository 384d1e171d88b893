// The live-streams bench phase: 1,000 open SSE streams on an embedded `./tally serve`, likes
// arriving; measures a like's 202 → the SSE event showing it (every stream watching the post),
// the api's CPU and RSS with the streams open, and reads and writes with and without them.
// Run: ./tally node bench/live-streams.ts [--streams 1000] [--seconds 10]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { SseParser } from '../packages/client/src/sse-parser.ts';
import { latencyHistogram, recordMs, summarize } from './histogram.ts';
import { BenchHttp } from './http-client.ts';
import { processCpuSeconds } from './proc-cpu.ts';
import { startTally } from './live-streams-server.ts';

const { values } = parseArgs({ options: { streams: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '10' }, probes: { type: 'string', default: '50' } } });
const STREAMS = Number(values.streams);
const SECONDS = Number(values.seconds);
const PROBES = Number(values.probes);
const say = (line: string): void => void process.stderr.write(`live-streams: ${line}\n`);

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function loop(seconds: number, concurrency: number, request: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await request(next++);
        done++;
      }
    }),
  );
  return done / seconds;
}

async function readsAndWrites(http: BenchHttp, tag: string, seconds: number): Promise<{ reads: number; writes: number }> {
  const reads = await loop(seconds, 32, (i) => http.expectOk('GET', `/v1/counts?posts=r${i % 100},r${(i + 1) % 100},r${(i + 2) % 100}`));
  const writes = await loop(seconds, 32, (i) => http.expectOk('PUT', `/v1/posts/w${i % 200}/likes/${tag}${i}`));
  return { reads, writes };
}

const dir = mkdtempSync(join(tmpdir(), 'tally-live-bench-'));
const server = await startTally(dir);
const http = new BenchHttp(server.url, 64);
try {
  say(`embedded tally on ${server.url} (pid ${server.pid}); warming up`);
  await readsAndWrites(http, 'warm', 2);
  say('reads and writes without streams');
  const without = await readsAndWrites(http, 'a', SECONDS / 2);

  say(`opening ${STREAMS} streams over ${PROBES} probe posts`);
  const rssBefore = rssBytes(server.pid);
  const pool = new Pool(server.url, { connections: STREAMS, pipelining: 1, bodyTimeout: 0, headersTimeout: 30_000 });
  const listeners = new Map<string, (count: number, at: number) => void>();
  const bodies: { destroy(): void }[] = [];
  let opened = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async (_, i) => {
      const post = `probe${i % PROBES}`;
      const response = await pool.request({ method: 'GET', path: `/v1/stream/counts?posts=${post},other${i}`, headers: { accept: 'text/event-stream' } });
      if (response.statusCode !== 200) throw new Error(`stream ${i}: HTTP ${response.statusCode}`);
      bodies.push(response.body);
      const parser = new SseParser();
      let seen = 0;
      opened++;
      void (async () => {
        try {
          for await (const chunk of response.body) {
            const at = performance.now();
            for (const event of parser.push(String(chunk))) {
              if (event.event !== 'count') continue;
              const data = JSON.parse(event.data) as { postId: string; count: number };
              if (data.postId === post && data.count > seen) {
                seen = data.count;
                (listeners.get(`${i}`) ?? (() => undefined))(seen, at);
              }
            }
          }
        } catch {
          // closed at the end
        }
      })();
    }),
  );
  say(`${opened} streams open`);
  await new Promise((resolve) => setTimeout(resolve, 1000));

  // Each probe post is liked one like at a time; every stream watching it reports when it shows the count.
  const latency = latencyHistogram();
  const expected = new Map<string, { count: number; acceptedAt: number; pending: Set<string> }>();
  for (let i = 0; i < STREAMS; i++) {
    const post = `probe${i % PROBES}`;
    listeners.set(`${i}`, (count, at) => {
      const want = expected.get(post);
      if (want === undefined || count < want.count || !want.pending.has(`${i}`)) return;
      want.pending.delete(`${i}`);
      recordMs(latency, at - want.acceptedAt);
    });
  }
  const cpuBefore = processCpuSeconds(server.pid) ?? 0;
  const started = performance.now();
  let likes = 0;
  let missed = 0;
  let rssMax = 0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssBytes(server.pid))), 250);
  await Promise.all(
    Array.from({ length: PROBES }, async (_, p) => {
      const post = `probe${p}`;
      const streamIds = Array.from({ length: STREAMS }, (_, i) => i).filter((i) => i % PROBES === p).map(String);
      for (let n = 1; performance.now() - started < SECONDS * 1000; n++) {
        const entry = { count: n, acceptedAt: 0, pending: new Set(streamIds) };
        await http.expectOk('PUT', `/v1/posts/${post}/likes/u${n}`);
        entry.acceptedAt = performance.now();
        expected.set(post, entry);
        likes++;
        const deadline = performance.now() + 5000;
        while (entry.pending.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
        missed += entry.pending.size;
        // ~10 likes/s per probe post: changes arrive while the interval (100 ms) coalesces them.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }),
  );
  const cpuSeconds = (processCpuSeconds(server.pid) ?? 0) - cpuBefore;
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(rssTimer);
  say('reads and writes with the streams open');
  const withStreams = await readsAndWrites(http, 'b', SECONDS / 2);
  const s = summarize(latency);
  const result = {
    streams: opened,
    likes,
    likesPerSecond: likes / elapsed,
    events: s.count,
    missed,
    p50Ms: s.p50Ms,
    p90Ms: s.p90Ms,
    p99Ms: s.p99Ms,
    maxMs: s.maxMs,
    apiCores: cpuSeconds / elapsed,
    rssBeforeMb: Math.round(rssBefore / 1e6),
    rssMaxWithStreamsMb: Math.round(rssMax / 1e6),
    readsPerSecond: { without: Math.round(without.reads), with: Math.round(withStreams.reads), change: `${(((withStreams.reads - without.reads) / without.reads) * 100).toFixed(1)}%` },
    writesPerSecond: { without: Math.round(without.writes), with: Math.round(withStreams.writes), change: `${(((withStreams.writes - without.writes) / without.writes) * 100).toFixed(1)}%` },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  for (const body of bodies) body.destroy();
  await pool.destroy();
} finally {
  await http.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
