import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { MemoryCountCache } from '../../../src/adapters/memory/memory-count-cache.ts';
import { createApp } from '../../../src/composition/app.ts';
import { createEmbeddedPorts } from '../../../src/composition/embedded-ports.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { TallyError } from '../../../src/domain/errors.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { CountCache } from '../../../src/ports/count-cache.ts';
import type { CounterStore } from '../../../src/ports/counter-store.ts';
import { CountReader } from '../../../src/stages/read/count-reader.ts';
import { ALL_STAGES, testOptions } from '../../helpers/embedded-app.ts';

/** A counter store of fixed counts that can be switched off. */
function store(counts: Record<string, number>): CounterStore & { down: boolean } {
  return {
    down: false,
    init: async () => undefined,
    close: async () => undefined,
    apply: async () => [],
    positions: async () => [],
    async getMany(postIds) {
      if (this.down) throw new TallyError('backend_unavailable', 'counter store unreachable (test)', { retriable: true });
      return new Map(postIds.filter((id) => counts[id] !== undefined).map((id) => [id, { postId: id, count: counts[id] ?? 0, version: 1 }]));
    },
  };
}

const brokenCache: CountCache = {
  init: async () => undefined,
  close: async () => undefined,
  getMany: async () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')),
  setMany: async () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')),
};

function logSink(): { log: pino.Logger; lines: { msg: string; backend: string }[] } {
  const lines: { msg: string; backend: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string; backend: string });
      done();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines };
}

// Issue 11, bug 2: count reads answered 503 while Redis was down although the counter store was up.
test('a failing cache is read around: counts come from the counter store, with a metric and one log line per interval', async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const { log, lines } = logSink();
  const reader = new CountReader(brokenCache, store({ a: 3, b: 5 }), { nearCacheMs: 0, nearCacheEntries: 0 }, { metrics, log, logEveryMs: 60_000 });
  for (let i = 0; i < 5; i++) assert.deepEqual(await reader.counts(['a', 'b', 'never']), [3, 5, 0]);
  assert.equal(reader.maybeStale, false);
  const degraded = (await metrics.readsDegraded.get()).values.find((v) => v.labels.backend === 'cache')?.value ?? 0;
  assert.ok(degraded >= 5, `reads around the cache counted: ${degraded}`);
  assert.equal(lines.filter((l) => l.backend === 'cache').length, 1, 'one log line within the interval');
});

test('counts come back aligned with the posts asked, hits and misses (read from the store) mixed', async () => {
  const cache = new MemoryCountCache({ maxEntries: 100 });
  const reader = new CountReader(cache, store({ a: 3, b: 5, c: 7 }), { nearCacheMs: 0, nearCacheEntries: 0 });
  assert.deepEqual(await reader.counts(['b']), [5]);
  assert.deepEqual(await reader.counts(['never', 'b', 'a', 'c', 'gone']), [0, 5, 3, 7, 0], 'b from the cache, the rest from the store');
  assert.deepEqual(await reader.counts(['c', 'never', 'a']), [7, 0, 3], 'all from the cache now');
  assert.deepEqual(await cache.getMany(['a', 'never']), [{ postId: 'a', count: 3, version: 1 }, { postId: 'never', count: 0, version: 0 }]);
});

test('a failing counter store: cached counts are served and flagged maybe-stale, misses fail with backend_unavailable, and the flag clears once it answers', async () => {
  const cache = new MemoryCountCache({ maxEntries: 100 });
  const counters = store({ a: 3, b: 5 });
  const reader = new CountReader(cache, counters, { nearCacheMs: 0, nearCacheEntries: 0 });
  assert.deepEqual(await reader.counts(['a']), [3], 'fills the cache');
  counters.down = true;
  await assert.rejects(reader.counts(['b']), (e: unknown) => e instanceof TallyError && e.code === 'backend_unavailable');
  assert.equal(reader.maybeStale, true);
  assert.deepEqual(await reader.counts(['a']), [3], 'the cached count is still served');
  assert.equal(reader.maybeStale, true, 'still flagged: nothing proved the store is back');
  counters.down = false;
  assert.deepEqual(await reader.counts(['b']), [5]);
  assert.equal(reader.maybeStale, false);
});

test('the HTTP reads while the counter store is down: cached counts with Tally-Stale: true, misses 503 backend_unavailable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-stale-'));
  const options = testOptions({ dataDir: dir, pipelineThread: false });
  const ports = createEmbeddedPorts(options);
  let down = false;
  const counters: CounterStore = {
    init: () => ports.counters.init(),
    close: () => ports.counters.close(),
    apply: (batch) => ports.counters.apply(batch),
    positions: () => ports.counters.positions(),
    getMany: (ids) => (down ? Promise.reject(new TallyError('backend_unavailable', 'counter store unreachable (test)', { retriable: true })) : ports.counters.getMany(ids)),
  };
  const app = await createApp({ ...ports, counters }, options, ALL_STAGES, createLogger('silent'), new Metrics({ defaultMetrics: false }));
  await app.start();
  t.after(async () => {
    await app.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });
  const api = app.api;
  assert.ok(api);
  assert.equal((await api.inject({ method: 'PUT', url: '/v1/posts/st1/likes/u1?wait=applied' })).statusCode, 202);
  const fresh = await api.inject({ method: 'GET', url: '/v1/posts/st1/count' });
  assert.deepEqual([fresh.statusCode, fresh.json(), fresh.headers['tally-stale']], [200, { postId: 'st1', count: 1 }, undefined]);

  down = true;
  const miss = await api.inject({ method: 'GET', url: '/v1/posts/never1/count' });
  assert.equal(miss.statusCode, 503);
  assert.equal(miss.json<{ error: { code: string } }>().error.code, 'backend_unavailable');
  const cached = await api.inject({ method: 'GET', url: '/v1/counts?posts=st1' });
  assert.deepEqual([cached.statusCode, cached.json(), cached.headers['tally-stale']], [200, { counts: { st1: 1 } }, 'true']);

  down = false;
  const back = await api.inject({ method: 'GET', url: '/v1/posts/never1/count' });
  assert.deepEqual([back.statusCode, back.json(), back.headers['tally-stale']], [200, { postId: 'never1', count: 0 }, undefined]);
});
