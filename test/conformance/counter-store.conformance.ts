import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CounterUpdate } from '../../src/domain/aggregate.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import type { CounterStore } from '../../src/ports/counter-store.ts';

export interface CounterStoreFixture {
  readonly counters: CounterStore;
  readonly cleanup: () => Promise<void>;
}

const updates = (entries: [string, CounterUpdate][]): Map<string, CounterUpdate> => new Map(entries);

/** The contract of the CounterStore port. */
export function counterStoreConformance(label: string, make: () => Promise<CounterStoreFixture>): void {
  describe(`CounterStore conformance: ${label}`, () => {
    test('adds deltas, sets recounts, and stores positions with them', async (t) => {
      const { counters, cleanup } = await make();
      t.after(cleanup);
      assert.deepEqual(await counters.positions(), []);
      const first = await counters.apply({
        updates: updates([['a', { base: undefined, delta: 3 }], ['b', { base: undefined, delta: 1 }]]),
        from: [{ partition: 0, offset: 0 }],
        to: [{ partition: 0, offset: 10 }],
      });
      assert.deepEqual(first.map((c) => [c.postId, c.count]).sort(), [['a', 3], ['b', 1]]);
      const second = await counters.apply({
        updates: updates([['a', { base: 7, delta: -1 }], ['b', { base: undefined, delta: -1 }]]),
        from: [{ partition: 0, offset: 10 }],
        to: [{ partition: 0, offset: 12 }, { partition: 3, offset: 5 }],
      });
      assert.deepEqual(second.map((c) => [c.postId, c.count]).sort(), [['a', 6], ['b', 0]]);
      const a1 = first.find((c) => c.postId === 'a');
      const a2 = second.find((c) => c.postId === 'a');
      assert.ok(a1 && a2 && a2.version > a1.version, 'versions grow with every write');
      assert.deepEqual((await counters.positions()).sort((x, y) => x.partition - y.partition), [
        { partition: 0, offset: 12 },
        { partition: 3, offset: 5 },
      ]);
      const got = await counters.getMany(['a', 'b', 'missing']);
      assert.equal(got.get('a')?.count, 6);
      assert.equal(got.get('b')?.count, 0);
      assert.equal(got.has('missing'), false);
    });

    test('a batch starting from other positions than stored is refused and changes nothing (exactly once)', async (t) => {
      const { counters, cleanup } = await make();
      t.after(cleanup);
      await counters.apply({ updates: updates([['a', { base: undefined, delta: 1 }]]), from: [{ partition: 1, offset: 0 }], to: [{ partition: 1, offset: 4 }] });
      await assert.rejects(
        counters.apply({ updates: updates([['a', { base: undefined, delta: 1 }]]), from: [{ partition: 1, offset: 0 }], to: [{ partition: 1, offset: 4 }] }),
        (e: unknown) => isTallyError(e) && e.code === 'position_conflict' && e.retriable,
      );
      assert.equal((await counters.getMany(['a'])).get('a')?.count, 1);
      assert.deepEqual(await counters.positions(), [{ partition: 1, offset: 4 }]);
    });

    test('many posts in one batch', async (t) => {
      const { counters, cleanup } = await make();
      t.after(cleanup);
      const many = new Map<string, CounterUpdate>(Array.from({ length: 2000 }, (_, i) => [`p${i}`, { base: undefined, delta: i % 5 }]));
      const result = await counters.apply({ updates: many, from: [], to: [{ partition: 0, offset: 1 }] });
      assert.equal(result.length, 2000);
      const got = await counters.getMany(['p0', 'p1999', 'p7']);
      assert.equal(got.get('p1999')?.count, 4);
      assert.equal(got.get('p7')?.count, 2);
    });
  });
}
