import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import { partitionOf } from '../../src/domain/hash.ts';
import type { EventLog, LogBatch, LogConsumer } from '../../src/ports/event-log.ts';
import { uniqueName } from '../helpers/wait.ts';

/** A fresh, empty log for one test; `cleanup` removes what it created. */
export interface EventLogFixture {
  readonly log: EventLog;
  readonly cleanup: () => Promise<void>;
  /** The partition the log puts an event in (default: by post, `partitionOf(postId)`). */
  readonly partitionOf?: (event: LikeEvent) => number;
}

/** Reads from `consumer` until `count` events arrived (or fails after `timeoutMs`), committing nothing. */
export async function readEvents(consumer: LogConsumer, count: number, timeoutMs = 20_000): Promise<{ events: LikeEvent[]; batches: LogBatch[] }> {
  const events: LikeEvent[] = [];
  const batches: LogBatch[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count) {
    if (Date.now() > deadline) throw new Error(`read ${events.length} of ${count} events within ${timeoutMs} ms`);
    const batch = await consumer.poll(200);
    if (batch.events.length > 0) batches.push(batch);
    events.push(...batch.events);
  }
  return { events, batches };
}

function makeEvents(n: number, posts: number, users: number, start = 0): LikeEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    op: (i + start) % 3 === 2 ? 'unlike' : 'like',
    postId: `post${(i + start) % posts}`,
    userId: `user${((i + start) * 7) % users}`,
    at: 1_700_000_000_000 + i + start,
  }));
}

const key = (e: LikeEvent): string => `${e.op}|${e.postId}|${e.userId}|${e.at}`;

/** The contract of the EventLog port; every adapter must pass it. */
export function eventLogConformance(label: string, make: () => Promise<EventLogFixture>): void {
  describe(`EventLog conformance: ${label}`, () => {
    test('an appended event is read back once, with every field intact, and ids stay strings', async (t) => {
      const { log, cleanup } = await make();
      t.after(cleanup);
      const big = { op: 'like' as const, postId: '1234567890123456789012', userId: 'u-_Z9', at: 1_700_000_000_123 };
      const result = await log.append([big]);
      assert.ok(result.positions.length <= 1);
      const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 100, maxWaitMs: 5 });
      t.after(() => consumer.close());
      const { events } = await readEvents(consumer, 1);
      assert.deepEqual(events, [big]);
    });

    test('events of one (post, user) pair keep their append order, across many concurrent appends', async (t) => {
      const { log, cleanup } = await make();
      t.after(cleanup);
      // 40 appends in flight at once, each as users of its own: the order between appends is the
      // log's to choose, but each (post, user) pair's events keep their order (invariant 3).
      const chunks = Array.from({ length: 40 }, (_, c) =>
        Array.from({ length: 50 }, (_, i): LikeEvent => ({ op: i % 3 === 2 ? 'unlike' : 'like', postId: `post${i % 7}`, userId: `c${c}u${i % 5}`, at: 1_700_000_000_000 + c * 100 + i })),
      );
      await Promise.all(chunks.map((chunk) => log.append(chunk)));
      const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 500, maxWaitMs: 5 });
      t.after(() => consumer.close());
      const all = chunks.flat();
      const { events } = await readEvents(consumer, all.length);
      assert.equal(events.length, all.length, 'no event lost or duplicated');
      assert.deepEqual(new Set(events.map(key)), new Set(all.map(key)));
      for (const pair of new Set(all.map((e) => `${e.postId}/${e.userId}`))) {
        const mine = (e: LikeEvent): boolean => `${e.postId}/${e.userId}` === pair;
        assert.deepEqual(events.filter(mine).map(key), all.filter(mine).map(key), `order of ${pair}`);
      }
    });

    test('concurrent appends are all durable and all read back', async (t) => {
      const { log, cleanup } = await make();
      t.after(cleanup);
      const chunks = Array.from({ length: 30 }, (_, i) => makeEvents(20, 11, 1000, i * 20));
      await Promise.all(chunks.map((chunk) => log.append(chunk)));
      const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 1000, maxWaitMs: 5 });
      t.after(() => consumer.close());
      const { events } = await readEvents(consumer, 600);
      assert.deepEqual(new Set(events.map(key)), new Set(chunks.flat().map(key)));
    });

    test('a batch positions every partition it read, and all events of a (post, user) pair come from one partition', async (t) => {
      const fixture = await make();
      const { log, cleanup } = fixture;
      t.after(cleanup);
      await log.append(makeEvents(300, 30, 100));
      const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 1000, maxWaitMs: 5 });
      t.after(() => consumer.close());
      const { batches } = await readEvents(consumer, 300);
      const placed = fixture.partitionOf ?? ((e: LikeEvent) => partitionOf(e.postId, log.partitions));
      const partitionsOfPost = new Map<string, Set<number>>();
      for (const batch of batches) {
        const read = new Set(batch.events.map(placed));
        const positioned = batch.positions.map((p) => p.partition);
        assert.equal(new Set(positioned).size, positioned.length, 'one position per partition');
        for (const p of batch.positions) assert.ok(p.partition >= 0 && p.partition < log.partitions && p.offset > 0, JSON.stringify(p));
        for (const partition of read) assert.ok(positioned.includes(partition), `partition ${partition} was read but has no position: ${JSON.stringify(batch.positions)}`);
        for (const e of batch.events) {
          const key = `${e.postId}/${e.userId}`;
          partitionsOfPost.set(key, (partitionsOfPost.get(key) ?? new Set()).add(placed(e)));
        }
      }
      for (const [pair, partitions] of partitionsOfPost) assert.equal(partitions.size, 1, `all events of ${pair} come from one partition`);
    });

    test('a consumer of the same group resumes after the committed positions', async (t) => {
      const { log, cleanup } = await make();
      t.after(cleanup);
      const group = uniqueName('g');
      const first = makeEvents(100, 5, 40);
      await log.append(first);
      const a = await log.consumer({ group, maxEvents: 1000, maxWaitMs: 5 });
      const { batches } = await readEvents(a, 100);
      for (const batch of batches) await a.commit(batch);
      await a.close();
      const second = makeEvents(50, 5, 40, 1000);
      await log.append(second);
      const b = await log.consumer({ group, maxEvents: 1000, maxWaitMs: 5 });
      t.after(() => b.close());
      const { events } = await readEvents(b, 50);
      assert.deepEqual(events.map(key).sort(), second.map(key).sort(), 'only the events after the commit');
      const extra = await b.poll(300);
      assert.equal(extra.events.length, 0, 'nothing else is delivered');
    });

    test('without a commit, a new consumer of the group reads the events again', async (t) => {
      const { log, cleanup } = await make();
      t.after(cleanup);
      const group = uniqueName('g');
      await log.append(makeEvents(40, 3, 10));
      const a = await log.consumer({ group, maxEvents: 1000, maxWaitMs: 5 });
      await readEvents(a, 40);
      await a.close();
      const b = await log.consumer({ group, maxEvents: 1000, maxWaitMs: 5 });
      t.after(() => b.close());
      const { events } = await readEvents(b, 40);
      assert.equal(events.length, 40);
    });

    test('poll returns an empty batch when idle, and honours maxEvents', async (t) => {
      const { log, cleanup } = await make();
      t.after(cleanup);
      const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 10, maxWaitMs: 5 });
      t.after(() => consumer.close());
      const idle = await consumer.poll(100);
      assert.equal(idle.events.length, 0);
      // Twenty appends of five: records of five, so a batch of at most 10 never needs to split one.
      for (let i = 0; i < 20; i++) await log.append(makeEvents(5, 1, 100, i * 5));
      const { batches } = await readEvents(consumer, 100);
      for (const batch of batches) assert.ok(batch.events.length <= 10, `a batch of ${batch.events.length} events with maxEvents 10`);
      assert.ok(batches.length >= 10, `${batches.length} batches for 100 events`);
    });
  });
}
