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
    test('returns only hits, and a newer version replaces an older one but never the reverse', async (t) => {
      const { cache, cleanup } = await make();
      t.after(cleanup);
      assert.equal((await cache.getMany(['x'])).size, 0);
      await cache.setMany([{ postId: 'x', count: 5, version: 3 }, { postId: 'y', count: 0, version: 0 }]);
      await cache.setMany([{ postId: 'x', count: 4, version: 2 }]);
      assert.deepEqual((await cache.getMany(['x', 'y', 'z'])).get('x'), { postId: 'x', count: 5, version: 3 });
      await cache.setMany([{ postId: 'x', count: 9, version: 4 }, { postId: 'y', count: 1, version: 1 }]);
      const hits = await cache.getMany(['x', 'y', 'z']);
      assert.equal(hits.get('x')?.count, 9);
      assert.equal(hits.get('y')?.count, 1);
      assert.equal(hits.has('z'), false);
    });

    test('keeps large counts and many entries exact', async (t) => {
      const { cache, cleanup } = await make();
      t.after(cleanup);
      const entries = Array.from({ length: 1000 }, (_, i) => ({ postId: `p${i}`, count: 2 ** 40 + i, version: i + 1 }));
      await cache.setMany(entries);
      const hits = await cache.getMany(entries.map((e) => e.postId));
      assert.equal(hits.size, 1000);
      assert.equal(hits.get('p999')?.count, 2 ** 40 + 999);
    });
  });
}
