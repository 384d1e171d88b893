import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CountCache } from '../../src/ports/count-cache.ts';

export interface CountCacheFixture {
  readonly cache: CountCache;
  readonly cleanup: () => Promise<void>;
}

/** The contract of the CountCache port. */
export function countCacheConformance(label: string, make: () => Promise<CountCacheFixture>): void {
  describe(`CountCache conformance: ${label}`, () => {
    test('answers aligned with the ids asked (undefined for a miss), and a newer version replaces an older one but never the reverse', async (t) => {
      const { cache, cleanup } = await make();
      t.after(cleanup);
      assert.deepEqual(await cache.getMany([]), []);
      assert.deepEqual(await cache.getMany(['x']), [undefined]);
      await cache.setMany([{ postId: 'x', count: 5, version: 3 }, { postId: 'y', count: 0, version: 0 }]);
      await cache.setMany([{ postId: 'x', count: 4, version: 2 }]);
      assert.deepEqual(await cache.getMany(['z', 'x', 'y']), [undefined, { postId: 'x', count: 5, version: 3 }, { postId: 'y', count: 0, version: 0 }]);
      await cache.setMany([{ postId: 'x', count: 9, version: 4 }, { postId: 'y', count: 1, version: 1 }]);
      const [x, y, z] = await cache.getMany(['x', 'y', 'z']);
      assert.equal(x?.count, 9);
      assert.equal(y?.count, 1);
      assert.equal(z, undefined);
    });

    test('keeps large counts and many entries exact', async (t) => {
      const { cache, cleanup } = await make();
      t.after(cleanup);
      const entries = Array.from({ length: 1000 }, (_, i) => ({ postId: `p${i}`, count: 2 ** 40 + i, version: i + 1 }));
      await cache.setMany(entries);
      const hits = await cache.getMany(entries.map((e) => e.postId));
      assert.deepEqual(hits, entries);
    });
  });
}
