import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NearCache } from '../../../src/stages/read/near-cache.ts';

/** A source whose count changes over time, loads that take a while, and a hand-driven clock. */
function rig(boundMs = 100) {
  let now = 0;
  let count = 0;
  let loads = 0;
  let freshLoads = 0;
  const pending: (() => void)[] = [];
  const slow = (kind: 'shared' | 'fresh') => (postIds: readonly string[]) => {
    if (kind === 'shared') loads++;
    else freshLoads++;
    // The value is read when the load starts; it arrives when the test releases it.
    const value = count;
    return new Promise<Map<string, number>>((resolve) => pending.push(() => resolve(new Map(postIds.map((p) => [p, value])))));
  };
  const cache = new NearCache(slow('shared'), slow('fresh'), { boundMs, maxEntries: 1000, clock: () => now });
  return {
    cache,
    advance: (ms: number) => void (now += ms),
    set: (n: number) => void (count = n),
    release: async () => {
      for (const done of pending.splice(0)) done();
      await new Promise((r) => setImmediate(r));
    },
    get loads() {
      return loads;
    },
    get freshLoads() {
      return freshLoads;
    },
  };
}

test('near cache: 1,000 concurrent reads of one post are one load (single flight), then served until the bound', async () => {
  const r = rig(100);
  r.set(7);
  const reads = Array.from({ length: 1000 }, () => r.cache.counts(['hot']));
  assert.equal(r.loads, 1);
  await r.release();
  for (const m of await Promise.all(reads)) assert.equal(m.get('hot'), 7);
  r.advance(99);
  assert.equal((await r.cache.counts(['hot'])).get('hot'), 7);
  assert.equal(r.loads, 1);
  r.advance(1);
  const next = r.cache.counts(['hot', 'other']);
  assert.equal(r.loads, 2, 'at the bound the value is reloaded');
  await r.release();
  assert.deepEqual(await next, new Map([['hot', 7], ['other', 7]]));
});

test('near cache: never serves a value older than its bound (property over reads, writes and time)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.record({ advance: fc.integer({ min: 0, max: 80 }) }), fc.record({ write: fc.constant(true) }), fc.record({ release: fc.constant(true) })), { maxLength: 60 }),
      async (steps) => {
        const bound = 50;
        const r = rig(bound);
        let now = 0;
        let count = 0;
        /** When each value stopped being the current one. */
        const replacedAt = new Map<number, number>();
        const reads: { at: number; result: Promise<Map<string, number>> }[] = [];
        for (const step of steps) {
          if ('advance' in step) {
            r.advance(step.advance);
            now += step.advance;
          } else if ('write' in step) {
            replacedAt.set(count, now);
            count++;
            r.set(count);
          } else await r.release();
          reads.push({ at: now, result: r.cache.counts(['p']) });
        }
        await r.release();
        await r.release();
        for (const read of reads) {
          const value = (await read.result).get('p') as number;
          const gone = replacedAt.get(value);
          // A value served at time t was current at some moment after t - bound.
          assert.ok(gone === undefined || gone > read.at - bound, `read at ${read.at} got ${value}, replaced at ${gone}`);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('near cache: after written(), a read never sees a value loaded before the write, even inside the bound', async () => {
  const r = rig(10_000);
  r.set(1);
  const first = r.cache.counts(['p']);
  await r.release();
  assert.equal((await first).get('p'), 1);
  // A load of the old value is in flight when the write is applied.
  r.advance(1);
  const inFlight = r.cache.counts(['p', 'q']);
  r.set(2);
  r.advance(1);
  r.cache.written(['p']);
  r.advance(1);
  const mine = r.cache.counts(['p']);
  assert.equal(r.freshLoads, 1, 'the writer\'s read goes to the source of truth, not the old entry or the old flight');
  await r.release();
  assert.equal((await mine).get('p'), 2);
  assert.equal((await inFlight).get('p'), 1, 'the read that started before the write may see the old value');
  // The fresh value is now cached for everyone; the old flight's late result did not replace it.
  assert.equal((await r.cache.counts(['p'])).get('p'), 2);
  assert.equal(r.loads + r.freshLoads, 3);
});

test('near cache: a failed load is not cached and the next read loads again', async () => {
  let calls = 0;
  const cache = new NearCache(
    async () => {
      calls++;
      if (calls === 1) throw new Error('redis down');
      return new Map([['p', 5]]);
    },
    async () => new Map(),
    { boundMs: 1000, maxEntries: 10 },
  );
  await assert.rejects(cache.counts(['p']), /redis down/);
  assert.equal((await cache.counts(['p'])).get('p'), 5);
  assert.equal(calls, 2);
});

test('near cache: keeps at most maxEntries counts', async () => {
  const cache = new NearCache(async (ids) => new Map(ids.map((p) => [p, 1])), async () => new Map(), { boundMs: 1000, maxEntries: 3 });
  for (const p of ['a', 'b', 'c', 'd', 'e']) await cache.counts([p]);
  assert.equal(cache.size, 3);
});
