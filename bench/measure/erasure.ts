/**
 * Erasing one user with many likes while the normal write load runs (issue 15):
 * `./tally node bench/measure/erasure.ts [--mode embedded|distributed] [--store postgres|dynamodb|cassandra] [--likes 100000] [--load-seconds 10]`;
 *
 * `--rate 5000 --writers 4 --batch 200` shape the other traffic.
 *
 * Starts a real `./tally serve` (embedded in a temporary folder, or `--distributed` on the
 * project's servers under a fresh namespace, dropped afterwards), seeds one user with `--likes`
 * likes spread over as many posts, then runs a steady write load (concurrent bulk writers of
 * other users at a fixed offered rate, plus single likes with `?wait=applied` and single likes
 * read back until their count shows them): a baseline window, then `DELETE
 * /v1/users/{id}/likes` while the load goes on, polling the erasure status until `applied`, then
 * a window after. Prints the time to complete and, per window, the events/s ingest applied (its
 * metric), the `?wait=applied` latency and the visible freshness (a like until its count shows
 * it), and checks the erased posts' counts.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { latencyHistogram, recordMs, summarize } from '../histogram.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Args {
  readonly mode: 'embedded' | 'distributed';
  /** The distributed store profile (`--store cassandra` runs with --hot-shards 1, as it needs). */
  readonly store: 'postgres' | 'dynamodb' | 'cassandra';
  readonly likes: number;
  readonly loadSeconds: number;
  readonly writers: number;
  readonly batch: number;
  /** Likes/s offered by the writers together. */
  readonly rate: number;
}

function parse(argv: readonly string[]): Args {
  const get = (name: string, fallback: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
  };
  const mode = get('mode', 'embedded');
  if (mode !== 'embedded' && mode !== 'distributed') throw new Error('--mode embedded|distributed');
  const store = get('store', 'postgres');
  if (store !== 'postgres' && store !== 'dynamodb' && store !== 'cassandra') throw new Error('--store postgres|dynamodb|cassandra');
  return { mode, store, likes: Number(get('likes', '100000')), loadSeconds: Number(get('load-seconds', '10')), writers: Number(get('writers', '4')), batch: Number(get('batch', '200')), rate: Number(get('rate', '5000')) };
}

async function startTally(args: readonly string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const listening = /listening on (http:\/\/\S+)/.exec(log);
      if (listening !== null && log.includes('tally: ready')) resolve(listening[1] as string);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`tally exited with ${String(code)}: ${log.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`tally not ready in 60 s: ${log.slice(-2000)}`)), 60_000).unref();
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function post(url: string, path: string, body?: object, method = 'POST'): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** Events the server's ingest has applied so far (its metric). */
async function ingested(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^tally_events_ingested_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

/** Applied likes, wait=applied latencies and visible freshness, per window. */
class Window {
  readonly latency = latencyHistogram();
  readonly visible = latencyHistogram();
  applied = 0;
  readonly startedAt = performance.now();
  endedAt: number | undefined;
  #ingestedAtStart = 0;
  async open(url: string): Promise<this> {
    this.#ingestedAtStart = await ingested(url);
    return this;
  }
  async close(url: string): Promise<void> {
    this.endedAt = performance.now();
    this.applied = (await ingested(url)) - this.#ingestedAtStart;
  }
  summary(): string {
    const seconds = ((this.endedAt ?? performance.now()) - this.startedAt) / 1000;
    const s = summarize(this.latency);
    const v = summarize(this.visible);
    return `${(this.applied / seconds).toFixed(0)} events/s applied over ${seconds.toFixed(1)} s; ?wait=applied answered p50 ${s.p50Ms.toFixed(0)} / p99 ${s.p99Ms.toFixed(0)} / max ${s.maxMs.toFixed(0)} ms; a single like visible in its count p50 ${v.p50Ms.toFixed(0)} / p99 ${v.p99Ms.toFixed(0)} / max ${v.maxMs.toFixed(0)} ms`;
  }
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-erasure-'));
  const ns = `b_${Math.random().toString(36).slice(2, 10)}`;
  const storeArgs = ['--store', args.store, ...(args.store === 'cassandra' ? ['--hot-shards', '1'] : [])];
  const serveArgs = args.mode === 'embedded' ? ['serve', '--data', dir, '--port', '0', '--log-level', 'warn'] : ['serve', '--distributed', '--namespace', ns, ...storeArgs, '--port', '0', '--log-level', 'warn'];
  const tally = await startTally([...serveArgs, '--reconcile-interval-ms', '0', '--wait-applied-ms', '60000']);
  try {
    const started = performance.now();
    for (let i = 0; i < args.likes; i += 10_000) {
      const events = Array.from({ length: Math.min(10_000, args.likes - i) }, (_, k) => ({ op: 'like', postId: `bp${i + k}`, userId: 'big' }));
      await post(tally.url, '/v1/events?wait=applied', { events });
    }
    const label = args.mode === 'distributed' ? `distributed (${args.store})` : args.mode;
    console.log(`${label}: seeded ${args.likes} likes of one user over ${args.likes} posts in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    let current = new Window();
    let stop = false;
    let sent = 0;
    // Open loop: each writer offers `rate / writers` likes/s in batches (202 = durable, no wait);
    // what was applied comes from the server's tally_events_ingested_total.
    const perWriterMs = (args.batch * args.writers * 1000) / args.rate;
    const writer = async (w: number): Promise<void> => {
      let next = performance.now();
      while (!stop) {
        const base = sent;
        sent += args.batch;
        const events = Array.from({ length: args.batch }, (_, k) => ({ op: 'like', postId: `lp${(base + k) % 5000}`, userId: `w${w}u${Math.floor((base + k) / 5000)}` }));
        await post(tally.url, '/v1/events', { events });
        next += perWriterMs;
        await sleep(Math.max(0, next - performance.now()));
      }
    };
    // ?wait=applied latency of single likes of other users.
    const waiter = async (): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const window = current;
        const t0 = performance.now();
        await post(tally.url, `/v1/posts/wp${i}/likes/waiter?wait=applied`, undefined, 'PUT');
        recordMs(window.latency, performance.now() - t0);
        await sleep(20);
      }
    };
    const writers = Array.from({ length: args.writers }, (_, w) => writer(w));
    // Visible freshness: a single like (no wait), then its count read until it shows.
    let probes = 0;
    const prober = async (): Promise<void> => {
      while (!stop) {
        const postId = `fp${probes++}`;
        const window = current;
        const t0 = performance.now();
        await post(tally.url, `/v1/posts/${postId}/likes/probe`, undefined, 'PUT');
        while (!stop) {
          const counted = (await post(tally.url, `/v1/posts/${postId}/count`, undefined, 'GET')).count as number;
          if (counted === 1) break;
          await sleep(2);
        }
        recordMs(window.visible, performance.now() - t0);
        await sleep(20);
      }
    };
    writers.push(prober(), waiter());
    await sleep(2000);
    current = await new Window().open(tally.url);
    await sleep(args.loadSeconds * 1000);
    const baseline = current;
    await baseline.close(tally.url);
    current = await new Window().open(tally.url);
    const erasureStarted = performance.now();
    await post(tally.url, '/v1/users/big/likes', undefined, 'DELETE');
    let status: Record<string, unknown> = {};
    while (status.status !== 'applied') {
      await sleep(100);
      status = await post(tally.url, '/v1/users/big/erasure', undefined, 'GET');
    }
    const erasureMs = performance.now() - erasureStarted;
    const during = current;
    await during.close(tally.url);
    current = await new Window().open(tally.url);
    await sleep(args.loadSeconds * 1000);
    const afterWindow = current;
    await afterWindow.close(tally.url);
    stop = true;
    await Promise.all(writers);
    // The erased posts: every count 0 once the erasure is counted (a waited write after it).
    await post(tally.url, '/v1/posts/bp0/likes/late?wait=applied', undefined, 'PUT');
    let nonZero = 0;
    for (let i = 0; i < args.likes; i += 500) {
      const ids = Array.from({ length: Math.min(500, args.likes - i) }, (_, k) => `bp${i + k}`);
      const counts = (await post(tally.url, `/v1/counts?posts=${ids.join(',')}`, undefined, 'GET')).counts as Record<string, number>;
      for (const id of ids) if ((counts[id] ?? 0) !== (id === 'bp0' ? 1 : 0)) nonZero++;
    }
    console.log(`${label}: erased ${String(status.removed)} likes in ${(erasureMs / 1000).toFixed(1)} s (${String(status.partitionsTotal)} partitions) under ${args.rate} likes/s offered by ${args.writers} writers in ${args.batch}-like batches; wrong counts after: ${nonZero}`);
    console.log(`  before: ${baseline.summary()}`);
    console.log(`  during: ${during.summary()}`);
    console.log(`  after:  ${afterWindow.summary()}`);
  } finally {
    await tally.stop();
    rmSync(dir, { recursive: true, force: true });
    if (args.mode === 'distributed') await promisify(execFile)(process.execPath, ['src/cli/main.ts', 'namespace', 'drop', ns, ...storeArgs], { cwd: ROOT }).catch((e: unknown) => console.error(`dropping ${ns}: ${String(e)}`));
  }
}

await main();
