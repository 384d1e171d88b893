import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { Registry } from 'prom-client';
import { mulberry32, randomInt } from '../../../bench/prng.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { LiveMetrics } from '../../../src/observability/live-metrics.ts';
import type { CountListener, CountNotifier } from '../../../src/ports/count-notifier.ts';
import type { VersionedCount } from '../../../src/ports/counter-store.ts';
import { CountStreamHub, type CountStreamHubOptions } from '../../../src/stages/stream/count-stream-hub.ts';
import type { StreamSink } from '../../../src/stages/stream/count-stream.ts';

/** A sink that keeps each write with the time it was made. */
class RecordingSink implements StreamSink {
  readonly writes: { text: string; at: number }[] = [];
  buffered = 0;
  destroyed = false;
  write(text: string): void {
    this.writes.push({ text, at: performance.now() });
  }
  destroy(): void {
    this.destroyed = true;
  }
  end(): void {}
  /** The `data:` lines of the count events written after the opening write. */
  get changes(): { postId: string; count: number }[] {
    return this.writes.slice(1).flatMap((w) => [...w.text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] ?? '') as { postId: string; count: number }));
  }
}

function hubOf(
  t: { after(fn: () => void): void },
  options: Partial<CountStreamHubOptions> = {},
  snapshot: (postIds: readonly string[]) => Promise<Map<string, VersionedCount>> = async (postIds) => new Map(postIds.map((postId) => [postId, { postId, count: 0, version: 0 }])),
): { hub: CountStreamHub; change: (counts: VersionedCount[]) => void } {
  let listener: CountListener | undefined;
  const notifier: CountNotifier = {
    init: async () => undefined,
    close: async () => undefined,
    publish: async () => undefined,
    subscribe: (l) => {
      listener = l;
      return { close: () => (listener = undefined) };
    },
  };
  const hub = new CountStreamHub(
    {
      notifier,
      snapshot,
      metrics: new LiveMetrics(new Registry()),
      log: createLogger('error'),
    },
    { intervalMs: 50, heartbeatMs: 60_000, maxStreams: 100, maxBufferedBytes: 1 << 20, ...options },
  );
  hub.start();
  t.after(() => hub.stop());
  return { hub, change: (counts) => listener?.changed(counts) };
}

test('one flush tick serves every stream, and streams watching a post write the same event text', async (t) => {
  const { hub, change } = hubOf(t);
  const sinks = Array.from({ length: 20 }, () => new RecordingSink());
  for (const sink of sinks) await hub.open(['a', 'b'], undefined, sink);
  await sleep(60);
  change([{ postId: 'a', count: 1, version: 1 }]);
  change([{ postId: 'b', count: 7, version: 3 }]);
  await sleep(80);
  const flushes = sinks.map((s) => s.writes.slice(1));
  assert.ok(flushes.every((f) => f.length === 1), 'one write per stream for both posts');
  const texts = new Set(flushes.map((f) => f[0]?.text));
  assert.equal(texts.size, 1, 'the same text on every stream');
  assert.match([...texts][0] ?? '', /^event: count\nid: [a-z0-9]+\.1\ndata: \{"postId":"a","count":1\}\n\nevent: count\nid: [a-z0-9]+\.2\ndata: \{"postId":"b","count":7\}\n\n$/);
  const times = flushes.map((f) => f[0]?.at ?? 0);
  assert.ok(Math.max(...times) - Math.min(...times) < 5, 'written in one tick');
});

test('changes are coalesced to one event per post per interval, the newest version, never an older one', async (t) => {
  const intervalMs = 50;
  const { hub, change } = hubOf(t, { intervalMs });
  const sink = new RecordingSink();
  await hub.open(['hot'], undefined, sink);
  const started = performance.now();
  for (let v = 1; v <= 40; v++) {
    change([{ postId: 'hot', count: v, version: v }]);
    if (v === 20) change([{ postId: 'hot', count: 5, version: 5 }]);
    await sleep(5);
  }
  await sleep(intervalMs + 20);
  const elapsed = performance.now() - started;
  const counts = sink.changes.map((c) => c.count);
  assert.equal(counts.at(-1), 40, 'ends at the newest count');
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'never an older count after a newer one');
  assert.ok(counts.length <= Math.ceil(elapsed / intervalMs) + 1, `${counts.length} events in ${Math.round(elapsed)} ms`);
  const at = sink.writes.map((w) => w.at);
  for (let i = 1; i < at.length; i++) assert.ok((at[i] ?? 0) - (at[i - 1] ?? 0) >= intervalMs - 1, `writes ${i - 1} and ${i} ${(at[i] ?? 0) - (at[i - 1] ?? 0)} ms apart`);
});

test('a stream idle for longer than the interval sends a change at once; a busy one waits for its turn', async (t) => {
  const intervalMs = 400;
  const { hub, change } = hubOf(t, { intervalMs });
  const quiet = new RecordingSink();
  const busy = new RecordingSink();
  await hub.open(['q'], undefined, quiet);
  await hub.open(['b'], undefined, busy);
  await sleep(intervalMs + 10);
  change([{ postId: 'b', count: 1, version: 1 }]);
  await sleep(50);
  assert.equal(busy.changes.length, 1, 'the first change after a quiet interval goes at once');
  const sentAt = performance.now();
  change([{ postId: 'b', count: 2, version: 2 }]);
  change([{ postId: 'q', count: 1, version: 1 }]);
  await sleep(50);
  assert.equal(quiet.changes.length, 1, 'the quiet stream does not wait for the busy one');
  assert.equal(busy.changes.length, 1, 'the busy stream waits for its interval');
  await sleep(intervalMs);
  assert.deepEqual(busy.changes.map((c) => c.count), [1, 2]);
  assert.ok((busy.writes.at(-1)?.at ?? 0) - sentAt < intervalMs, 'within one interval');
});

test('a closed stream leaves the dirty set; a slow one is dropped when its buffer passes the bound', async (t) => {
  const { hub, change } = hubOf(t, { intervalMs: 10, maxBufferedBytes: 100 });
  const gone = new RecordingSink();
  const slow = new RecordingSink();
  const closedGone = await hub.open(['x'], undefined, gone);
  await hub.open(['x'], undefined, slow);
  await sleep(20);
  change([{ postId: 'x', count: 1, version: 1 }]);
  closedGone.close('gone');
  slow.buffered = 1000;
  await sleep(30);
  assert.equal(gone.writes.length, 1, 'nothing written after the close');
  assert.equal(slow.destroyed, true);
  assert.equal(hub.size, 0);
});

test('changes heard while a stream reads its snapshot go out with its opening values, and its last opening id covers them', async (t) => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The snapshot already has a's version 2 (the change's notice comes after it was read) and b at 0.
  const { hub, change } = hubOf(t, { intervalMs: 20 }, async () => {
    await gate;
    return new Map([
      ['a', { postId: 'a', count: 2, version: 2 }],
      ['b', { postId: 'b', count: 0, version: 0 }],
    ]);
  });
  const sink = new RecordingSink();
  const opening = hub.open(['a', 'b'], undefined, sink);
  change([{ postId: 'a', count: 2, version: 2 }]);
  change([{ postId: 'b', count: 5, version: 5 }]);
  release();
  await opening;
  await sleep(60);
  assert.equal(sink.writes.length, 1, 'nothing left to flush after the opening');
  const text = sink.writes[0]?.text ?? '';
  assert.match(text, /data: \{"postId":"a","count":2\}/);
  assert.match(text, /data: \{"postId":"b","count":5\}/, 'the newer change replaces the snapshot value');
  const ids = [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);
  assert.match(ids.at(-1) ?? '', /^[a-z0-9]+\.2$/, 'the last id covers both changes (numbered 1 and 2)');
});

/** `id` and count of every count event in a sink's writes, the opening included. */
function eventsOf(sink: RecordingSink): { id: string; postId: string; count: number }[] {
  return sink.writes.flatMap((w) =>
    [...w.text.matchAll(/^id: (.*)\ndata: (.*)$/gm)].map((m) => ({ id: m[1] ?? '', ...(JSON.parse(m[2] ?? '') as { postId: string; count: number }) })),
  );
}

test('a snapshot ahead of the notices (the store committed, the counts not yet heard): a resume from the opening id does not resend those posts, and their notice is not sent again', async (t) => {
  // The store has a and b at version 1; no notice has come yet.
  const store = new Map([
    ['a', { postId: 'a', count: 1, version: 1 }],
    ['b', { postId: 'b', count: 1, version: 1 }],
  ]);
  const { hub, change } = hubOf(t, { intervalMs: 5 }, async (postIds) => new Map(postIds.map((p) => [p, store.get(p) ?? { postId: p, count: 0, version: 0 }])));
  const first = new RecordingSink();
  const stream = await hub.open(['a', 'b'], undefined, first);
  change([...store.values()]);
  await sleep(30);
  assert.equal(first.writes.length, 1, 'the notices of counts the opening sent are not sent again');
  const cut = eventsOf(first).at(-1)?.id;
  stream.close('gone');
  store.set('b', { postId: 'b', count: 2, version: 2 });
  change([store.get('b') ?? { postId: 'b', count: 0, version: 0 }]);
  const resumed = new RecordingSink();
  await hub.open(['a', 'b'], cut, resumed);
  assert.deepEqual(
    eventsOf(resumed).map((e) => [e.postId, e.count]),
    [['b', 2]],
    'only b changed after the cut',
  );
});

test('a count an opening numbered from the store reaches the streams already watching the post, before its notice', async (t) => {
  const store = new Map<string, VersionedCount>();
  const { hub } = hubOf(t, { intervalMs: 5 }, async (postIds) => new Map(postIds.map((p) => [p, store.get(p) ?? { postId: p, count: 0, version: 0 }])));
  const watching = new RecordingSink();
  await hub.open(['a'], undefined, watching);
  // The store commits a's first like; its notice has not come when another stream opens.
  store.set('a', { postId: 'a', count: 1, version: 1 });
  await hub.open(['a'], undefined, new RecordingSink());
  await sleep(30);
  assert.deepEqual(watching.changes, [{ postId: 'a', count: 1 }]);
});

test('a snapshot behind a count already numbered (a cache that has not taken it yet) opens with the numbered count', async (t) => {
  const store = new Map([['a', { postId: 'a', count: 1, version: 1 }]]);
  let cache = new Map<string, VersionedCount>();
  let fromStore = true;
  const { hub } = hubOf(t, { intervalMs: 5 }, async (postIds) => new Map(postIds.map((p) => [p, (fromStore ? store.get(p) : cache.get(p)) ?? { postId: p, count: 0, version: 0 }])));
  const first = new RecordingSink();
  await hub.open(['a'], undefined, first);
  // The second stream's snapshot hits a cache still holding version 0.
  cache = new Map([['a', { postId: 'a', count: 0, version: 0 }]]);
  fromStore = false;
  const second = new RecordingSink();
  await hub.open(['a'], undefined, second);
  assert.deepEqual(eventsOf(second).map((e) => [e.postId, e.count]), [['a', 1]]);
});

// Remembering every post, and 4 of the 6 (posts are forgotten and taken as changed at the floor).
for (const rememberedPosts of [100, 4]) {
  test(`model: with notices late, caches behind the store and streams resumed from any event they got, every client ends at the store's counts (${rememberedPosts} posts remembered)`, async (t) => {
    const posts = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
    const store = new Map<string, VersionedCount>();
    const cache = new Map<string, VersionedCount>();
    const notices: VersionedCount[] = [];
    // The cache first, then the store for its misses, each read a turn apart (as over a network).
    const snapshot = async (postIds: readonly string[]): Promise<Map<string, VersionedCount>> => {
      await turn();
      const cached = postIds.map((p) => cache.get(p));
      await turn();
      return new Map(postIds.map((p, i) => [p, cached[i] ?? store.get(p) ?? { postId: p, count: 0, version: 0 }]));
    };
    const { hub, change } = hubOf(t, { intervalMs: 1, rememberedPosts, maxStreams: 1000 }, snapshot);
    const draw = mulberry32(20261130);
    const random = (n: number): number => randomInt(draw, n);
    /** A client: what it held before it resumed, and the stream it reads now. */
    const clients: { held: Map<string, number>; sink: RecordingSink }[] = [];
    const opening: Promise<unknown>[] = [];
    // Forty stretches of racing, each ended by delivering every notice and checking every client: a
    // count missed at any stretch shows there, before later changes of the post would mend it.
    for (let stretch = 0; stretch < 40; stretch++) {
      for (let round = 0; round < 40; round++) {
        const action = random(10);
        if (action < 4) {
          const postId = posts[random(posts.length)] ?? 'p0';
          const version = (store.get(postId)?.version ?? 0) + 1;
          const count = { postId, count: random(1000), version };
          store.set(postId, count);
          notices.push(count);
          // A bounded cache drops posts now and then: the next snapshot reads them from the store.
          if (random(2) === 0) cache.delete(posts[random(posts.length)] ?? 'p0');
        } else if (action < 7 && notices.length > 0) {
          // Embedded order: numbered for the streams, then into the cache.
          const count = notices.shift() as VersionedCount;
          change([count]);
          if ((cache.get(count.postId)?.version ?? -1) < count.version) cache.set(count.postId, count);
        } else if (action < 8 || clients.length === 0) {
          const sink = new RecordingSink();
          clients.push({ held: new Map(), sink });
          opening.push(hub.open(posts, undefined, sink));
        } else if (action < 9) {
          // Resume from a random event this client got: it holds what came up to that event.
          const client = clients[random(clients.length)];
          const events = client === undefined ? [] : eventsOf(client.sink);
          if (client !== undefined && events.length > 0) {
            const cut = random(events.length);
            const held = new Map(client.held);
            for (const e of events.slice(0, cut + 1)) held.set(e.postId, e.count);
            const sink = new RecordingSink();
            clients.push({ held, sink });
            opening.push(hub.open(posts, events[cut]?.id, sink));
          }
        } else {
          await turn();
        }
      }
      await Promise.all(opening.splice(0));
      for (const count of notices.splice(0)) {
        change([count]);
        if ((cache.get(count.postId)?.version ?? -1) < count.version) cache.set(count.postId, count);
      }
      const truth = Object.fromEntries(posts.map((p) => [p, store.get(p)?.count ?? 0]));
      const views = (): Record<string, number | undefined>[] =>
        clients.map((client) => {
          const got = new Map(client.held);
          for (const e of eventsOf(client.sink)) got.set(e.postId, e.count);
          return Object.fromEntries(posts.map((p) => [p, got.get(p)]));
        });
      // The streams flush on the hub's timer (every 1 ms here); on a busy machine that takes a while.
      const settleBy = Date.now() + 2000;
      while (!views().every((view) => isDeepStrictEqual(view, truth)) && Date.now() < settleBy) await sleep(5);
      for (const [i, view] of views().entries()) assert.deepEqual(view, truth, `stretch ${stretch}: client ${i} of ${clients.length}`);
    }
    assert.ok(clients.filter((c) => c.held.size > 0).length > 20, 'resumes were exercised');
  });
}

test('a notice of a version an opening numbered already still reaches a stream whose snapshot read an older count, though the post was forgotten before its squaring', async (t) => {
  const store = new Map<string, VersionedCount>();
  const cache = new Map<string, VersionedCount>();
  const gates: { cache: PromiseWithResolvers<void>; done: PromiseWithResolvers<void> }[] = [];
  // Each snapshot reads the cache when its first gate opens, the store for misses, and returns when the second opens.
  const snapshot = async (postIds: readonly string[]): Promise<Map<string, VersionedCount>> => {
    const g = { cache: Promise.withResolvers<void>(), done: Promise.withResolvers<void>() };
    gates.push(g);
    await g.cache.promise;
    const cached = postIds.map((p) => cache.get(p));
    await g.done.promise;
    return new Map(postIds.map((p, i) => [p, cached[i] ?? store.get(p) ?? { postId: p, count: 0, version: 0 }]));
  };
  const { hub, change } = hubOf(t, { intervalMs: 1, rememberedPosts: 1 }, snapshot);
  // Embedded order: the store commits; later the hub hears the notice, and the cache takes it then.
  const notice = (count: VersionedCount): void => {
    change([count]);
    cache.set(count.postId, count);
  };
  const p1 = { postId: 'p', count: 1, version: 1 };
  const p2 = { postId: 'p', count: 2, version: 2 };
  store.set('p', p1);
  const first = hub.open(['p'], undefined, new RecordingSink());
  await turn();
  gates[0]?.cache.resolve(); // a miss
  await turn();
  notice(p1);
  store.set('p', p2); // its notice is on the way
  gates[0]?.done.resolve();
  await first; // read p v2 from the store: numbered at the opening
  const sink = new RecordingSink();
  const second = hub.open(['p'], undefined, sink);
  await turn();
  gates[1]?.cache.resolve(); // the cache still holds v1
  await turn();
  await turn();
  notice(p2); // v2 was numbered already
  notice({ postId: 'q', count: 1, version: 1 }); // p is forgotten (one post remembered)
  gates[1]?.done.resolve();
  await second;
  await sleep(30);
  assert.equal(eventsOf(sink).at(-1)?.count, 2, JSON.stringify(eventsOf(sink)));
});
