import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamPosition } from '../../src/domain/change.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import type { ChangeCapture } from '../../src/ports/change-capture.ts';
import type { ChangePublisher } from '../../src/ports/change-publisher.ts';
import type { EventLog } from '../../src/ports/event-log.ts';
import type { LikesStore } from '../../src/ports/likes-store.ts';
import type { SourceProgress } from '../../src/ports/source-progress.ts';
import type { StreamProgress } from '../../src/ports/stream-progress.ts';
import { uniqueName } from '../helpers/wait.ts';

/**
 * A fresh likes store, where its source stands against the relay (`source`), and the capture a
 * relay reads (`capture()` makes a new one; `cleanup` closes what it made, then drops the store).
 */
export interface SourceProgressFixture {
  readonly likes: LikesStore;
  readonly source: SourceProgress;
  readonly capture: () => ChangeCapture;
  readonly cleanup: () => Promise<void>;
}

let clock = 1_760_000_000_000;

/** Applies like events the way ingest does: fenced, one log partition moving forward. */
class FencedWriter {
  readonly #likes: LikesStore;
  #offset = 0;
  #n = 0;

  constructor(likes: LikesStore) {
    this.#likes = likes;
  }

  async write(count: number): Promise<void> {
    const events: LikeEvent[] = Array.from({ length: count }, () => ({ op: 'like', postId: `s${this.#n % 3}`, userId: `u${this.#n++}`, at: clock++ }));
    const from = this.#offset;
    this.#offset += count;
    await this.#likes.apply(events, { from: [{ partition: 0, offset: from }], to: [{ partition: 0, offset: this.#offset }] });
  }
}

/**
 * Relays (polls and acknowledges, reopening after a retriable failure as the cdc stage does) until
 * the relay covers `mark`; fails after `timeoutMs`.
 */
async function relayUntilCovered(fixture: SourceProgressFixture, capture: ChangeCapture, mark: string, timeoutMs = 20_000): Promise<void> {
  const covers = fixture.source.relayCovers ?? ((confirmed: string, m: string) => confirmed >= m);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const confirmed = await fixture.source.relayConfirmed();
    if (covers(confirmed, mark)) return;
    if (Date.now() > deadline) throw new Error(`the relay did not cover ${mark} within ${timeoutMs} ms (confirmed ${confirmed})`);
    try {
      const batch = await capture.poll(10_000, 100);
      await batch.ack();
    } catch (error) {
      if (!(isTallyError(error) && error.retriable)) throw error;
      await capture.close().catch(() => undefined);
      await capture.init().catch(() => undefined);
    }
  }
}

/**
 * The contract of SourceProgress (`?wait=applied` across processes): the source's mark moves with
 * every write; the relay's confirmed position covers a mark only once the relay has handed over
 * and acknowledged every change before it.
 */
export function sourceProgressConformance(label: string, make: () => Promise<SourceProgressFixture>): void {
  describe(`SourceProgress conformance: ${label}`, () => {
    test('the mark moves with writes; the relay covers it once it acknowledged every change before it, and not before', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      const covers = fixture.source.relayCovers ?? ((confirmed: string, m: string) => confirmed >= m);
      const writer = new FencedWriter(fixture.likes);
      const capture = fixture.capture();
      await capture.init();

      await writer.write(5);
      const first = await fixture.source.sourceMark();
      await relayUntilCovered(fixture, capture, first);

      await writer.write(3);
      const second = await fixture.source.sourceMark();
      assert.ok(covers(second, first), `marks only move forward: ${first} then ${second}`);
      assert.ok(!covers(first, second), `a write moves the mark: ${first} then ${second}`);
      const before = await fixture.source.relayConfirmed();
      assert.ok(!covers(before, second), `not covered before the relay read the new changes: confirmed ${before}, mark ${second}`);
      await relayUntilCovered(fixture, capture, second);
    });

    test('a relay restarted after its acknowledgements does not move the confirmed position back', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      const covers = fixture.source.relayCovers ?? ((confirmed: string, m: string) => confirmed >= m);
      const writer = new FencedWriter(fixture.likes);
      const first = fixture.capture();
      await first.init();
      await writer.write(4);
      const mark = await fixture.source.sourceMark();
      await relayUntilCovered(fixture, first, mark);
      await first.close();
      const next = fixture.capture();
      await next.init();
      await next.poll(10_000, 200).then((batch) => batch.ack());
      assert.ok(covers(await fixture.source.relayConfirmed(), mark), 'still covered after the restart');
    });
  });
}

/**
 * A fresh namespace's log and change feed, something that writes to each, and the probe of where
 * they stand. `cleanup` closes them and deletes the namespace.
 */
export interface StreamProgressFixture {
  readonly progress: StreamProgress;
  readonly events: EventLog;
  readonly publisher: ChangePublisher;
  readonly partitions: number;
  readonly cleanup: () => Promise<void>;
}

const total = (positions: readonly StreamPosition[]): number => positions.reduce((sum, p) => sum + p.offset, 0);
const byPartition = (positions: readonly StreamPosition[]): Map<number, number> => new Map(positions.filter((p) => p.offset > 0).map((p) => [p.partition, p.offset]));

/**
 * The contract of StreamProgress: the log's and the feed's end positions count what was appended
 * and published, per partition; `committed` is what a consumer group committed, nothing before.
 */
export function streamProgressConformance(label: string, make: () => Promise<StreamProgressFixture>): void {
  describe(`StreamProgress conformance: ${label}`, () => {
    test('log ends count the appended events per partition; a group has committed nothing until its consumer commits, then exactly that', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      assert.equal(total(await fixture.progress.logEnds()), 0, 'an empty log');
      const events: LikeEvent[] = Array.from({ length: 40 }, (_, i) => ({ op: 'like', postId: `p${i % 7}`, userId: `u${i}`, at: clock++ }));
      const appended = await fixture.events.append(events);
      const ends = await fixture.progress.logEnds();
      assert.equal(total(ends), 40);
      for (const p of ends) assert.ok(p.partition >= 0 && p.partition < fixture.partitions);
      for (const p of appended.positions) assert.equal(byPartition(ends).get(p.partition), p.offset, `partition ${p.partition} ends after the last append`);

      const group = uniqueName('g');
      assert.deepEqual(await fixture.progress.committed(group), [], 'nothing committed yet');
      const consumer = await fixture.events.consumer({ group, maxEvents: 1000, maxWaitMs: 50 });
      try {
        let read = 0;
        const deadline = Date.now() + 20_000;
        const done = new Map<number, number>();
        while (read < 40) {
          if (Date.now() > deadline) throw new Error(`read ${read} of 40 events`);
          const batch = await consumer.poll(200);
          read += batch.events.length;
          await consumer.commit(batch);
          for (const p of batch.positions) done.set(p.partition, p.offset);
        }
        assert.deepEqual(byPartition(await fixture.progress.committed(group)), done, 'what the group committed');
        assert.deepEqual(byPartition(await fixture.progress.committed(uniqueName('other'))), new Map(), 'another group has committed nothing');
      } finally {
        await consumer.close();
      }
    });

    test('feed ends count the published changes per partition', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      assert.equal(total(await fixture.progress.feedEnds()), 0, 'an empty feed');
      const changes = Array.from({ length: 25 }, (_, i) => ({ kind: 'delta' as const, postId: `p${i % 6}`, userId: `u${i}`, delta: 1 as const }));
      await fixture.publisher.publish(changes, changes.map((_, i) => String(i).padStart(8, '0')));
      const expected = new Map<number, number>();
      for (const c of changes) expected.set(fixture.publisher.partitionOf(c.postId), (expected.get(fixture.publisher.partitionOf(c.postId)) ?? 0) + 1);
      assert.deepEqual(byPartition(await fixture.progress.feedEnds()), expected);
      assert.equal(total(await fixture.progress.logEnds()), 0, 'the log is another stream');
    });
  });
}
