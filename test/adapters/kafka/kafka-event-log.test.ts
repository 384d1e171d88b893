import { logPartitionOf } from '../../../src/domain/log-key.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { createStandaloneConsumer } from '../../../src/adapters/kafka/kafka-client.ts';
import { KafkaEventLog } from '../../../src/adapters/kafka/kafka-event-log.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import type { LogBatch, LogConsumer } from '../../../src/ports/event-log.ts';
import { eventLogConformance, readEvents } from '../../conformance/event-log.conformance.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { BROKERS, kafkaNamespace, kafkaNamespaceWithCleanup, TEST_TIMINGS } from './kafka-test-kit.ts';

eventLogConformance('kafka', async () => {
  const { namespace, cleanup } = kafkaNamespaceWithCleanup();
  const log = new KafkaEventLog({ brokers: BROKERS, namespace, partitions: 4, maxPendingEvents: 100_000, groupTimings: TEST_TIMINGS });
  await log.init();
  return { log, cleanup: async () => { await log.close(); await cleanup(); } };
});

function events(n: number, posts: number, from = 0): LikeEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    op: (i + from) % 4 === 3 ? 'unlike' : 'like',
    postId: `post${(i + from) % posts}`,
    userId: `user${i + from}`,
    at: 1_700_000_000_000 + i + from,
  }));
}

const key = (e: LikeEvent): string => `${e.postId}|${e.userId}|${e.op}|${e.at}`;

async function openLog(t: TestContext, partitions = 12, maxPendingEvents = 100_000): Promise<KafkaEventLog> {
  const log = new KafkaEventLog({ brokers: BROKERS, namespace: kafkaNamespace(t), partitions, maxPendingEvents, groupTimings: TEST_TIMINGS });
  await log.init();
  t.after(() => log.close());
  return log;
}

/** Polls every consumer in turn until `count` events arrived in total. */
async function readAll(consumers: LogConsumer[], count: number, timeoutMs = 20_000): Promise<LikeEvent[][]> {
  const seen: LikeEvent[][] = consumers.map(() => []);
  const deadline = Date.now() + timeoutMs;
  while (seen.reduce((n, s) => n + s.length, 0) < count) {
    if (Date.now() > deadline) throw new Error(`read ${seen.map((s) => s.length).join('+')} of ${count} events`);
    const batches = await Promise.all(consumers.map((c) => c.poll(100)));
    batches.forEach((b, i) => seen[i]?.push(...b.events));
  }
  return seen;
}

test('append resolves with the position after the events of each partition, consistent with partitionOf', async (t) => {
  const log = await openLog(t);
  const first = events(30, 6);
  const result = await log.append(first);
  const expected = new Map<number, number>();
  for (const e of first) {
    const p = partitionOf(e.postId, 12);
    expected.set(p, (expected.get(p) ?? 0) + 1);
  }
  assert.deepEqual(new Map(result.positions.map((p) => [p.partition, p.offset])), expected);

  // What an outside client reads: key = post id, partition = partitionOf, value = the documented JSON.
  const raw = createStandaloneConsumer({ brokers: BROKERS }, 'test-raw');
  t.after(() => raw.close());
  const probe = first[0] as LikeEvent;
  const partition = partitionOf(probe.postId, 12);
  const metadata = await raw.metadata({ topics: [log.topic] });
  const info = metadata.topics.get(log.topic);
  assert.ok(info);
  const response = await raw.fetch({
    node: info.partitions[partition]?.leader ?? 1,
    topics: [{ topicId: info.id, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    maxWaitTime: 100,
  });
  const record = response.responses[0]?.partitions[0]?.records?.[0]?.records[0];
  assert.ok(record);
  assert.equal(record.key?.toString(), probe.postId);
  assert.equal(record.value?.toString(), JSON.stringify({ op: probe.op, postId: probe.postId, userId: probe.userId, at: probe.at }));
});

test('append → consume round trip keeps per-partition order across 20 concurrent appends', async (t) => {
  const log = await openLog(t);
  const all = events(2_000, 37);
  await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(all.slice(i * 100, i * 100 + 100))));
  const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 700, maxWaitMs: 5 });
  t.after(() => consumer.close());
  const { events: read, batches } = await readEvents(consumer, all.length);
  assert.equal(read.length, all.length, 'no event lost or duplicated');
  assert.deepEqual(new Set(read.map(key)), new Set(all.map(key)));
  // Appends ran concurrently, so their relative order is the log's; within one append it is kept.
  for (let i = 0; i < 20; i++) {
    const chunk = all.slice(i * 100, i * 100 + 100);
    for (let p = 0; p < 37; p++) {
      const expected = chunk.filter((e) => e.postId === `post${p}`).map(key);
      const positions = expected.map((k) => read.findIndex((e) => key(e) === k));
      assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `order of post${p} in append ${i}`);
    }
  }
  for (const batch of batches) {
    assert.ok(batch.events.length <= 700);
    const partitions = new Set(batch.events.map((e) => partitionOf(e.postId, 12)));
    assert.deepEqual(new Set(batch.positions.map((p) => p.partition)), partitions);
  }
});

test('positions, commit and resume: a new member of the group starts after the committed offsets', async (t) => {
  const log = await openLog(t, 3);
  const group = uniqueName('g');
  const first = events(90, 9);
  await log.append(first);
  const a = await log.consumer({ group, maxEvents: 30, maxWaitMs: 0 });
  const batch: LogBatch = await a.poll(5_000);
  assert.ok(batch.events.length > 0 && batch.events.length <= 30);
  await a.commit(batch);
  await a.close();

  const b = await log.consumer({ group, maxEvents: 1_000, maxWaitMs: 5 });
  t.after(() => b.close());
  const { events: rest } = await readEvents(b, first.length - batch.events.length);
  assert.deepEqual(new Set([...batch.events, ...rest].map(key)), new Set(first.map(key)), 'each event once across the two members');
  assert.equal(rest.length, first.length - batch.events.length);
  assert.equal((await b.poll(300)).events.length, 0, 'nothing is delivered twice');
});

test('two members of a group split the partitions; when one leaves, the other takes its partitions over', async (t) => {
  const log = await openLog(t);
  const group = uniqueName('g');
  const a = await log.consumer({ group, maxEvents: 500, maxWaitMs: 5 });
  t.after(() => a.close());
  const b = await log.consumer({ group, maxEvents: 500, maxWaitMs: 5 });
  let bClosed = false;
  t.after(() => (bClosed ? undefined : b.close()));
  const all = events(1_200, 60);
  await log.append(all);

  const [fromA, fromB] = (await readAll([a, b], all.length)) as [LikeEvent[], LikeEvent[]];
  assert.ok(fromA.length > 0 && fromB.length > 0, `both members read (${fromA.length} + ${fromB.length})`);
  assert.equal(fromA.length + fromB.length, all.length, 'every event exactly once');
  assert.deepEqual(new Set([...fromA, ...fromB].map(key)), new Set(all.map(key)));
  const partitionsA = new Set(fromA.map((e) => partitionOf(e.postId, 12)));
  const partitionsB = new Set(fromB.map((e) => partitionOf(e.postId, 12)));
  for (const p of partitionsA) assert.ok(!partitionsB.has(p), `partition ${p} read by both`);

  // Nothing was committed: after b leaves, a is given every partition and reads them from the
  // start, b's included (its own again too: a reassignment restarts at the committed offsets).
  await b.close();
  bClosed = true;
  const [again] = (await readAll([a], all.length)) as [LikeEvent[]];
  assert.deepEqual(new Set(again.map(key)), new Set(all.map(key)));
});

test('beyond maxPendingEvents, append fails fast with a retriable overloaded', async (t) => {
  const log = await openLog(t, 2, 150);
  const first = log.append(events(100, 5));
  await assert.rejects(log.append(events(100, 5, 100)), (e: unknown) => (e as { code?: string; retriable?: boolean }).code === 'overloaded' && (e as { retriable?: boolean }).retriable === true);
  await first;
  await log.append(events(100, 5, 200));
});

test('an existing topic with another partition count is refused', async (t) => {
  const log = await openLog(t, 3);
  const other = new KafkaEventLog({ brokers: BROKERS, namespace: log.topic.slice(0, -'.like-events'.length), partitions: 5, maxPendingEvents: 10 });
  await assert.rejects(other.init(), /has 3 partitions but 5 are configured/);
  await other.close();
});

test('committing a batch after a rebalance took some of its partitions away is harmless', async (t) => {
  const log = await openLog(t);
  const group = uniqueName('g');
  const all = events(600, 60);
  await log.append(all);
  const a = await log.consumer({ group, maxEvents: 1_000, maxWaitMs: 5 });
  t.after(() => a.close());
  const { events: fromA, batches } = await readEvents(a, all.length);
  assert.equal(fromA.length, all.length);
  // b joins while a holds an uncommitted batch of every partition.
  const b = await log.consumer({ group, maxEvents: 1_000, maxWaitMs: 5 });
  t.after(() => b.close());
  // Whether or not the rebalance has moved partitions yet, these commits must not throw.
  for (const batch of batches) await a.commit(batch);
  // Afterwards the group still delivers every new event to exactly one of its members.
  const more = events(120, 60, 10_000);
  await log.append(more);
  const [fromA2, fromB] = (await readAll([a, b], more.length)) as [LikeEvent[], LikeEvent[]];
  const fresh = [...fromA2, ...fromB].map(key).filter((k) => more.some((e) => key(e) === k));
  assert.deepEqual(new Set(fresh), new Set(more.map(key)), 'every new event is delivered');
});

eventLogConformance('kafka, --hot-shards 4', async () => {
  const { namespace, cleanup } = kafkaNamespaceWithCleanup();
  const log = new KafkaEventLog({ brokers: BROKERS, namespace, partitions: 4, hotShards: 4, maxPendingEvents: 100_000, groupTimings: TEST_TIMINGS });
  await log.init();
  return { log, cleanup: async () => { await log.close(); await cleanup(); }, partitionOf: (e) => logPartitionOf(e.postId, e.userId, 4, 4) };
});

eventLogConformance('kafka, bundles (--kafka-record-events 500)', async () => {
  const { namespace, cleanup } = kafkaNamespaceWithCleanup();
  const log = new KafkaEventLog({ brokers: BROKERS, namespace, partitions: 4, hotShards: 4, recordEvents: 500, maxPendingEvents: 100_000, groupTimings: TEST_TIMINGS });
  await log.init();
  return { log, cleanup: async () => { await log.close(); await cleanup(); }, partitionOf: (e) => logPartitionOf(e.postId, e.userId, 4, 4) };
});
