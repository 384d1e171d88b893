import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
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
