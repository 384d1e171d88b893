import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgCounterStore } from '../../../src/adapters/postgres/pg-counter-store.ts';
import type { CounterUpdate } from '../../../src/domain/aggregate.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import { namespaceFor, PG_URL } from './pg-fixture.ts';

const add = (delta: number): CounterUpdate => ({ base: undefined, delta });
const set = (base: number, delta = 0): CounterUpdate => ({ base, delta });

test('deltas add, a recount base replaces the count (plus the deltas after it), versions grow', async (t) => {
  const ns = await namespaceFor(t);
  const counters = ns.track(new PgCounterStore({ url: PG_URL, namespace: ns.namespace }));
  await counters.init();
  const first = await counters.apply({ updates: new Map([['a', add(5)], ['b', set(10, 2)]]), from: [], to: [{ partition: 2, offset: 3 }] });
  assert.deepEqual(first.map((c) => [c.postId, c.count, c.version]).sort(), [['a', 5, 1], ['b', 12, 1]]);
  const second = await counters.apply({
    updates: new Map([['a', set(1, -1)], ['b', add(-2)], ['c', add(-1)]]),
    from: [{ partition: 2, offset: 3 }],
    to: [{ partition: 2, offset: 9 }],
  });
  assert.deepEqual(second.map((c) => [c.postId, c.count, c.version]).sort(), [['a', 0, 2], ['b', 10, 2], ['c', -1, 1]]);
  const got = await counters.getMany(['a', 'b', 'c', 'zzz']);
  assert.deepEqual([...got.values()].map((c) => [c.postId, c.count]).sort(), [['a', 0], ['b', 10], ['c', -1]]);
  assert.deepEqual(await counters.positions(), [{ partition: 2, offset: 9 }]);
  assert.deepEqual(await counters.getMany([]), new Map());
});

test('fencing: a stale "from" is refused (position_conflict, retriable) and changes nothing', async (t) => {
  const ns = await namespaceFor(t);
  const counters = ns.track(new PgCounterStore({ url: PG_URL, namespace: ns.namespace }));
  await counters.init();
  await counters.apply({ updates: new Map([['a', add(1)]]), from: [{ partition: 0, offset: 0 }], to: [{ partition: 0, offset: 4 }] });
  for (const from of [[{ partition: 0, offset: 0 }], [{ partition: 0, offset: 5 }], [{ partition: 0, offset: 4 }, { partition: 1, offset: 7 }]]) {
    await assert.rejects(
      counters.apply({ updates: new Map([['a', add(100)]]), from, to: [{ partition: 0, offset: 8 }] }),
      (e: unknown) => isTallyError(e) && e.code === 'position_conflict' && e.retriable,
    );
  }
  assert.equal((await counters.getMany(['a'])).get('a')?.count, 1);
  assert.deepEqual(await counters.positions(), [{ partition: 0, offset: 4 }]);
});

test('two counters racing from the same fresh position: exactly one batch applies', async (t) => {
  const ns = await namespaceFor(t);
  const one = ns.track(new PgCounterStore({ url: PG_URL, namespace: ns.namespace }));
  const two = ns.track(new PgCounterStore({ url: PG_URL, namespace: ns.namespace }));
  await one.init();
  await two.init();
  for (let round = 0; round < 10; round++) {
    const from = [{ partition: 5, offset: round * 10 }];
    const to = [{ partition: 5, offset: round * 10 + 10 }];
    const results = await Promise.allSettled([
      one.apply({ updates: new Map([['x', add(1)]]), from, to }),
      two.apply({ updates: new Map([['x', add(1)]]), from, to }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: one winner`);
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost && isTallyError(lost.reason) && lost.reason.code === 'position_conflict');
  }
  assert.equal((await one.getMany(['x'])).get('x')?.count, 10);
});
