import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startEmbedded } from '../../helpers/embedded-app.ts';
import { latestCounts, openSse } from '../../helpers/sse-reader.ts';

async function bulkLike(url: string, events: { postId: string; userId: string }[]): Promise<void> {
  const response = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: events.map((e) => ({ op: 'like', ...e })) }),
  });
  assert.equal(response.status, 202, await response.text());
}

// Every test runs with the streams written from the stream writer process (the default) and from
// the api thread.
for (const streamWriter of ['process', 'main'] as const) {
  test(`a stream opens with the current counts and sends each change after likes (--stream-writer ${streamWriter})`, async (t) => {
    const { app } = await startEmbedded(t, { streamWriter, streamIntervalMs: 20 });
    const url = app.url ?? '';
    await bulkLike(url, [{ postId: 'p1', userId: 'u0' }]);
    await fetch(`${url}/v1/posts/p1/likes/u00?wait=applied`, { method: 'PUT' });
    const sse = await openSse(`${url}/v1/stream/counts?posts=p1,p2`);
    t.after(() => sse.close());
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    await sse.waitFor((events) => latestCounts(events).size === 2);
    assert.deepEqual(Object.fromEntries(latestCounts(sse.events)), { p1: 2, p2: 0 });
    for (let i = 1; i <= 3; i++) {
      const res = await fetch(`${url}/v1/posts/p2/likes/u${i}`, { method: 'PUT' });
      assert.equal(res.status, 202);
      await sse.waitFor((events) => latestCounts(events).get('p2') === i);
    }
    assert.ok(sse.events.every((e) => e.event === 'count' && e.lastEventId !== ''), 'every event carries an id');
  });

  test(`coalescing: at most one event per post per --stream-interval-ms, ending at the exact count (--stream-writer ${streamWriter})`, async (t) => {
    const intervalMs = 250;
    const { app } = await startEmbedded(t, { streamWriter, streamIntervalMs: intervalMs });
    const url = app.url ?? '';
    const sse = await openSse(`${url}/v1/stream/counts?posts=hot,cold`);
    t.after(() => sse.close());
    await sse.waitFor((events) => latestCounts(events).size === 2);
    const started = Date.now();
    const arrivals: { postId: string; at: number }[] = [];
    const seen = sse.events.length;
    // 60 single likes, as fast as they go: far more changes than intervals.
    for (let i = 0; i < 60; i++) {
      await fetch(`${url}/v1/posts/hot/likes/u${i}`, { method: 'PUT' });
      if (i % 20 === 0) await fetch(`${url}/v1/posts/cold/likes/u${i}`, { method: 'PUT' });
    }
    await sse.waitFor((events) => latestCounts(events).get('hot') === 60 && latestCounts(events).get('cold') === 3);
    const elapsed = Date.now() - started;
    let last = new Map<string, number>();
    for (const event of sse.events.slice(seen)) {
      const { postId } = JSON.parse(event.data) as { postId: string };
      arrivals.push({ postId, at: 0 });
      last = latestCounts([event]);
    }
    assert.ok(last.size > 0);
    const hotEvents = arrivals.filter((a) => a.postId === 'hot').length;
    // One opening flush may come right away, then at most one per interval.
    const allowed = Math.ceil(elapsed / intervalMs) + 2;
    assert.ok(hotEvents <= allowed, `${hotEvents} events for 60 likes in ${elapsed} ms with a ${intervalMs} ms interval (allowed ${allowed})`);
    assert.ok(hotEvents < 60, `coalesced: ${hotEvents} events for 60 likes`);
  });

  test(`coalescing per stream: events of one post are at least the interval apart (--stream-writer ${streamWriter})`, async (t) => {
    const intervalMs = 150;
    const { app } = await startEmbedded(t, { streamWriter, streamIntervalMs: intervalMs });
    const url = app.url ?? '';
    const sse = await openSse(`${url}/v1/stream/counts?posts=tick`);
    t.after(() => sse.close());
    await sse.waitFor((events) => events.length === 1);
    // One change first, so the stream is past its start (a writer process starts with the first
    // stream, and flushes queued while it loads reach the socket together).
    await bulkLike(url, [{ postId: 'tick', userId: 'u-first' }]);
    await sse.waitFor((events) => latestCounts(events).get('tick') === 1);
    const opened = sse.events.length;
    // When each event was seen, and how long before that the watcher last ran: this process also
    // runs the api, whose fsynced log commits can hold its event loop for tens of ms, and an event
    // seen late only says it arrived within that window.
    const times: number[] = [];
    const windows: number[] = [];
    let lastTick = Date.now();
    const watcher = setInterval(() => {
      const now = Date.now();
      while (times.length < sse.events.length - opened) {
        times.push(now);
        windows.push(now - lastTick);
      }
      lastTick = now;
    }, 2);
    t.after(() => clearInterval(watcher));
    for (let i = 0; i < 40; i++) await bulkLike(url, [{ postId: 'tick', userId: `u${i}` }]);
    await sse.waitFor((events) => latestCounts(events).get('tick') === 41);
    await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(watcher);
    for (let i = 1; i < times.length; i++) {
      // The earlier event may have arrived up to its window before it was seen; a few ms of slack besides.
      const seenApart = (times[i] ?? 0) - (times[i - 1] ?? 0);
      const window = windows[i - 1] ?? 0;
      assert.ok(seenApart + window >= intervalMs - 25, `events ${i - 1} and ${i} seen ${seenApart} ms apart, the first within ${window} ms of arriving`);
    }
  });

  test(`Last-Event-ID: a stream resumed after a cut gets every post changed meanwhile, at its current value (--stream-writer ${streamWriter})`, async (t) => {
    const { app } = await startEmbedded(t, { streamWriter, streamIntervalMs: 10 });
    const url = app.url ?? '';
    const posts = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await bulkLike(url, posts.map((postId) => ({ postId, userId: 'first' })));
    const first = await openSse(`${url}/v1/stream/counts?posts=${posts.join(',')}`);
    await first.waitFor((events) => latestCounts(events).size === 20 && [...latestCounts(events).values()].every((c) => c === 1));
    const cutAt = first.events.at(-1)?.lastEventId ?? '';
    first.close();
    assert.match(cutAt, /^[a-z0-9]+\.\d+$/);
    // While no stream is open: half the posts change, some several times.
    const changed = posts.filter((_, i) => i % 2 === 0);
    for (let round = 0; round < 3; round++) await bulkLike(url, changed.map((postId) => ({ postId, userId: `later${round}` })));
    await fetch(`${url}/v1/posts/r0/likes/sync?wait=applied`, { method: 'PUT' });

    const resumed = await openSse(`${url}/v1/stream/counts?posts=${posts.join(',')}`, { 'last-event-id': cutAt });
    t.after(() => resumed.close());
    await resumed.waitFor((events) => changed.every((p) => latestCounts(events).has(p)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const got = latestCounts(resumed.events);
    for (const postId of changed) assert.equal(got.get(postId), postId === 'r0' ? 5 : 4, `${postId} at its current count`);
    for (const postId of posts.filter((p) => !changed.includes(p))) assert.equal(got.has(postId), false, `${postId} did not change and is not resent`);

    // The same check through every possible cut point: resuming from any id of the first stream
    // yields, with what was received before the cut, the current value of every post.
    const all = await openSse(`${url}/v1/stream/counts?posts=${posts.join(',')}`);
    t.after(() => all.close());
    await all.waitFor((events) => latestCounts(events).size === 20);
    const truth = latestCounts(all.events);
    for (const [i, cut] of all.events.entries()) {
      const before = latestCounts(all.events.slice(0, i + 1));
      const again = await openSse(`${url}/v1/stream/counts?posts=${posts.join(',')}`, { 'last-event-id': cut.lastEventId });
      await new Promise((resolve) => setTimeout(resolve, 30));
      again.close();
      for (const [postId, count] of latestCounts(again.events)) before.set(postId, count);
      assert.deepEqual(Object.fromEntries(before), Object.fromEntries(truth), `resuming after event ${i} (${cut.lastEventId})`);
    }
  });

  test(`--max-streams: one stream too many gets 503 too_many_streams with Retry-After (--stream-writer ${streamWriter})`, async (t) => {
    const { app } = await startEmbedded(t, { streamWriter, maxStreams: 2 });
    const url = app.url ?? '';
    const a = await openSse(`${url}/v1/stream/counts?posts=x`);
    const b = await openSse(`${url}/v1/stream/counts?posts=y`);
    t.after(() => {
      a.close();
      b.close();
    });
    const refused = await fetch(`${url}/v1/stream/counts?posts=z`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    const body = (await refused.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'too_many_streams');
    a.close();
    // A slot frees once a client leaves.
    const deadline = Date.now() + 5000;
    for (;;) {
      const c = await openSse(`${url}/v1/stream/counts?posts=z`);
      c.close();
      if (c.status === 200) break;
      assert.ok(Date.now() < deadline, 'the slot of a closed stream was not freed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bad = await fetch(`${url}/v1/stream/counts?posts=${'a'.repeat(65)}`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_id');
  });

  test(`a client that never reads is dropped, and the server buffers a bounded amount for it (--stream-writer ${streamWriter})`, async (t) => {
    const bufferBytes = 64 * 1024;
    const { app } = await startEmbedded(t, { streamWriter, streamIntervalMs: 5, streamBufferBytes: bufferBytes, maxReadPosts: 2000 });
    const url = new URL(app.url ?? '');
    // 200 ids of 60 characters: a request line within Node's 16 KiB header limit, ~36 KB of events per round.
    const posts = Array.from({ length: 200 }, (_, i) => `slow-${String(i).padStart(4, '0')}-${'x'.repeat(50)}`);
    const socket = connect(Number(url.port), url.hostname);
    t.after(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /v1/stream/counts?posts=${posts.join(',')} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.pause();
    let closed = false;
    socket.once('close', () => (closed = true));
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`${url.origin}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
    };
    const opened = Date.now() + 5000;
    while ((await metric('tally_streams_open')) !== 1) {
      assert.ok(Date.now() < opened, 'the stream did not open');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const heapBefore = liveHeapBytes();
    const deadline = Date.now() + 60_000;
    for (let round = 0; (await metric('tally_streams_dropped_total')) < 1; round++) {
      assert.ok(Date.now() < deadline, 'the stream that never reads was not dropped');
      await bulkLike(url.origin, posts.map((postId) => ({ postId, userId: `u${round}` })));
    }
    assert.equal(await metric('tally_streams_open'), 0);
    const grown = liveHeapBytes() - heapBefore;
    // The drop above is the bound at work (an unbounded buffer never drops). The heap also holds this
    // process's own requests and an embedded Tally, so the check is loose; it counts what is live
    // after a full GC (without one, the young generation's garbage alone reached 137 MB in a CI run).
    assert.ok(grown < 128 * 1024 * 1024, `heap grew ${grown} bytes`);
    socket.resume();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(closed || socket.destroyed || socket.readableEnded, true, 'the server closed the connection');
    // The api still serves others.
    const other = await openSse(`${url.origin}/v1/stream/counts?posts=fine`);
    other.close();
    assert.equal(other.status, 200);
  });
}

/** Bytes of this thread's heap still live after a full garbage collection. */
function liveHeapBytes(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}
