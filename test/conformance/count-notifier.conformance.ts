import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CountListener, CountNotifier } from '../../src/ports/count-notifier.ts';
import type { VersionedCount } from '../../src/ports/counter-store.ts';

export interface CountNotifierFixture {
  /** The counter's side. */
  readonly publisher: CountNotifier;
  /** An api process's side: the same transport (may be the same object as `publisher`). */
  readonly subscriber: CountNotifier;
  /** A notifier on another namespace of the same transport (undefined when the adapter has none). */
  readonly stranger: CountNotifier | undefined;
  readonly cleanup: () => Promise<void>;
}

/** Collects what a listener is told. */
export function recorder(): CountListener & { counts: VersionedCount[]; resyncs: number; waitFor(n: number, ms?: number): Promise<void> } {
  const r = {
    counts: [] as VersionedCount[],
    resyncs: 0,
    changed(counts: readonly VersionedCount[]) {
      r.counts.push(...counts);
    },
    resync() {
      r.resyncs++;
    },
    async waitFor(n: number, ms = 5000) {
      const deadline = Date.now() + ms;
      while (r.counts.length < n) {
        if (Date.now() > deadline) throw new Error(`heard ${r.counts.length} counts, expected ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
  return r;
}

/** The contract of the CountNotifier port. */
export function countNotifierConformance(label: string, make: () => Promise<CountNotifierFixture>): void {
  describe(`CountNotifier conformance: ${label}`, () => {
    test('every subscriber hears every published count, exactly, in publish order', async (t) => {
      const { publisher, subscriber, cleanup } = await make();
      t.after(cleanup);
      const a = recorder();
      const b = recorder();
      subscriber.subscribe(a);
      subscriber.subscribe(b);
      const first: VersionedCount[] = [{ postId: 'p1', count: 3, version: 2 }, { postId: 'p_2-x', count: 2 ** 52, version: 7 }];
      const many = Array.from({ length: 2500 }, (_, i) => ({ postId: `m${i}`, count: i, version: i + 1 }));
      await publisher.publish(first);
      await publisher.publish([]);
      await publisher.publish(many);
      await a.waitFor(2502);
      await b.waitFor(2502);
      assert.deepEqual(a.counts.slice(0, 2), first);
      assert.deepEqual(a.counts.slice(2), many);
      assert.deepEqual(b.counts, a.counts);
    });

    test('a closed subscription hears nothing more; another namespace hears nothing', async (t) => {
      const { publisher, subscriber, stranger, cleanup } = await make();
      t.after(cleanup);
      const kept = recorder();
      const gone = recorder();
      const alien = recorder();
      subscriber.subscribe(kept);
      subscriber.subscribe(gone).close();
      stranger?.subscribe(alien);
      await publisher.publish([{ postId: 'q', count: 1, version: 1 }]);
      await kept.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(gone.counts.length, 0);
      assert.equal(alien.counts.length, 0);
    });
  });
}
