import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { TokenBuckets } from '../../src/ports/token-buckets.ts';

export interface TokenBucketsFixture {
  readonly buckets: TokenBuckets;
  readonly cleanup: () => Promise<void>;
}

/** The contract of the TokenBuckets port (real time, bounded to about a second). */
export function tokenBucketsConformance(label: string, make: () => Promise<TokenBucketsFixture>): void {
  describe(`TokenBuckets conformance: ${label}`, () => {
    test('a full bucket allows its burst, then refuses with the time to the next token', async (t) => {
      const { buckets, cleanup } = await make();
      t.after(cleanup);
      const limit = { perSecond: 2, burst: 3 };
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await buckets.take('k', limit));
      assert.deepEqual(answers.map((a) => a.allowed), [true, true, true, false]);
      assert.deepEqual(answers.slice(0, 3).map((a) => a.remaining), [2, 1, 0]);
      const refused = answers[3];
      assert.ok(refused !== undefined && refused.retryAfterMs > 0 && refused.retryAfterMs <= 500, `retry after ${refused?.retryAfterMs} ms`);
    });

    test('tokens come back at the rate, never beyond the burst; keys are independent', async (t) => {
      const { buckets, cleanup } = await make();
      t.after(cleanup);
      const limit = { perSecond: 10, burst: 2 };
      assert.equal((await buckets.take('a', limit)).allowed, true);
      assert.equal((await buckets.take('a', limit)).allowed, true);
      assert.equal((await buckets.take('a', limit)).allowed, false);
      assert.equal((await buckets.take('b', limit)).allowed, true, 'another key has its own bucket');
      await sleep(250);
      assert.equal((await buckets.take('a', limit)).allowed, true, 'a token came back after 100 ms');
      await sleep(600);
      const allowed = [];
      for (let i = 0; i < 4; i++) allowed.push((await buckets.take('a', limit)).allowed);
      assert.deepEqual(allowed, [true, true, false, false], 'a long pause refills only up to the burst');
    });

    test('concurrent takes never hand out more than the burst', async (t) => {
      const { buckets, cleanup } = await make();
      t.after(cleanup);
      const answers = await Promise.all(Array.from({ length: 50 }, () => buckets.take('hot', { perSecond: 0.01, burst: 7 })));
      assert.equal(answers.filter((a) => a.allowed).length, 7);
    });
  });
}
