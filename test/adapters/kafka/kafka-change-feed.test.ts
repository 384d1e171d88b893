import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { createStandaloneConsumer } from '../../../src/adapters/kafka/kafka-client.ts';
import { KafkaChangeFeed } from '../../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import type { Change, PositionedChange, StreamPosition } from '../../../src/domain/change.ts';
import { partitionOf } from '../../../src/domain/hash.ts';
import type { ChangeReader } from '../../../src/ports/change-feed.ts';
import { eventually, uniqueName } from '../../helpers/wait.ts';
import { changePublisherConformance, type ChangePublisherFixture } from '../../conformance/change-publisher.conformance.ts';
import { BROKERS, kafkaNamespace, kafkaNamespaceWithCleanup, TEST_TIMINGS } from './kafka-test-kit.ts';

const PARTITIONS = 6;

async function open(t: TestContext): Promise<{ publisher: KafkaChangePublisher; feed: KafkaChangeFeed }> {
  const namespace = kafkaNamespace(t);
  const publisher = new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: PARTITIONS });
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions: PARTITIONS, groupTimings: TEST_TIMINGS });
  await feed.init();
  await publisher.init();
  t.after(async () => {
    await feed.close();
    await publisher.close();
  });
  return { publisher, feed };
}

/** Fixed-width hex sources, increasing in publish order. */
const source = (i: number): string => i.toString(16).padStart(16, '0');

function deltas(n: number, posts: number, from = 0): Change[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'delta', postId: `post${(i + from) % posts}`, userId: `user${i + from}`, delta: (i + from) % 5 === 4 ? -1 : 1 }));
}

/** Reads `count` changes; when `applied` is given, stores each batch's positions in it like a counter would. */
async function readChanges(reader: ChangeReader, count: number, applied?: Map<number, number>, timeoutMs = 20_000): Promise<PositionedChange[]> {
  const read: PositionedChange[] = [];
  const deadline = Date.now() + timeoutMs;
  while (read.length < count) {
    if (Date.now() > deadline) throw new Error(`read ${read.length} of ${count} changes`);
    const batch = await reader.poll(200);
    const last = new Map<number, number>();
    for (const c of batch.changes) last.set(c.partition, c.offset + 1);
    assert.deepEqual(new Map(batch.positions.map((p) => [p.partition, p.offset])), last, 'positions = next offset per partition');
    read.push(...batch.changes);
    for (const p of batch.positions) applied?.set(p.partition, p.offset);
  }
  return read;
}

/** The change-publisher conformance fixture on Kafka; `recordChanges` above 1 bundles the changes. */
async function publisherFixture(recordChanges: number): Promise<ChangePublisherFixture> {
  const { namespace, cleanup } = kafkaNamespaceWithCleanup();
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions: PARTITIONS, groupTimings: TEST_TIMINGS });
  await feed.init();
  const publishers: KafkaChangePublisher[] = [];
  return {
    partitions: PARTITIONS,
    publisher: () => {
      const publisher = new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: PARTITIONS, recordChanges });
      publishers.push(publisher);
      return publisher;
    },
    read: async (count) => {
      const reader = await feed.reader({ group: uniqueName('g'), maxChanges: 1000, maxWaitMs: 5, resumeFrom: async () => [] });
      try {
        const read = await readChanges(reader, count);
        read.push(...(await reader.poll(300)).changes); // anything beyond `count` is a duplicate
        return read.map((c) => ({ partition: c.partition, change: c.change }));
      } finally {
        await reader.close();
      }
    },
    cleanup: async () => {
      for (const publisher of publishers) await publisher.close().catch(() => undefined);
      await feed.close();
      await cleanup();
    },
  };
}

changePublisherConformance('kafka', () => publisherFixture(1));
changePublisherConformance('kafka, bundles (--kafka-record-events 500)', () => publisherFixture(500));

test('changes round trip in order per partition, with Kafka offsets, in the documented JSON', async (t) => {
  const { publisher, feed } = await open(t);
  const changes: Change[] = [...deltas(300, 17), { kind: 'recount', postId: 'post3', count: 2 ** 40 }];
  await publisher.publish(changes, changes.map((_, i) => source(i)));
  const reader = await feed.reader({ group: uniqueName('g'), maxChanges: 100, maxWaitMs: 5, resumeFrom: async () => [] });
  t.after(() => reader.close());
  const read = await readChanges(reader, changes.length);
  assert.equal(read.length, changes.length);
  for (let p = 0; p < PARTITIONS; p++) {
    const expected = changes.filter((c) => partitionOf(c.postId, PARTITIONS) === p);
    const inPartition = read.filter((c) => c.partition === p);
    assert.deepEqual(inPartition.map((c) => c.change), expected, `partition ${p} in publish order`);
    assert.deepEqual(inPartition.map((c) => c.offset), expected.map((_, i) => i), `partition ${p} offsets`);
  }

  const raw = createStandaloneConsumer({ brokers: BROKERS }, 'test-raw');
  t.after(() => raw.close());
  const metadata = await raw.metadata({ topics: [publisher.topic] });
  const info = metadata.topics.get(publisher.topic);
  assert.ok(info);
  const p = partitionOf('post3', PARTITIONS);
  const response = await raw.fetch({
    node: info.partitions[p]?.leader ?? 1,
    topics: [{ topicId: info.id, partitions: [{ partition: p, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    maxWaitTime: 100,
  });
  const values = (response.responses[0]?.partitions[0]?.records ?? []).flatMap((b) => b.records.map((r) => ({ key: r.key?.toString(), value: r.value?.toString() })));
  const firstIndex = changes.findIndex((c) => partitionOf(c.postId, PARTITIONS) === p);
  const first = changes[firstIndex] as Change & { kind: 'delta' };
  assert.deepEqual(values[0], {
    key: first.postId,
    value: JSON.stringify({ kind: 'delta', postId: first.postId, userId: first.userId, delta: first.delta, source: source(firstIndex) }),
  });
  assert.deepEqual(values.at(-1), {
    key: 'post3',
    value: JSON.stringify({ kind: 'recount', postId: 'post3', count: 2 ** 40, source: source(changes.length - 1) }),
  });
});

test('a reader starts every assigned partition where resumeFrom says, the earliest offset otherwise', async (t) => {
  const { publisher, feed } = await open(t);
  const changes = deltas(240, 24);
  await publisher.publish(changes, changes.map((_, i) => source(i)));
  const perPartition = new Map<number, number>();
  for (const c of changes) perPartition.set(partitionOf(c.postId, PARTITIONS), (perPartition.get(partitionOf(c.postId, PARTITIONS)) ?? 0) + 1);
  // Resume half way in partitions 0 and 1, at the end of partition 2; the others from the start.
  const stored: StreamPosition[] = [
    { partition: 0, offset: Math.floor((perPartition.get(0) ?? 0) / 2) },
    { partition: 1, offset: Math.floor((perPartition.get(1) ?? 0) / 2) },
    { partition: 2, offset: perPartition.get(2) ?? 0 },
  ];
  let calls = 0;
  const reader = await feed.reader({ group: uniqueName('g'), maxChanges: 1_000, maxWaitMs: 5, resumeFrom: async () => { calls++; return stored; } });
  t.after(() => reader.close());
  const skipped = stored.reduce((n, p) => n + p.offset, 0);
  const read = await readChanges(reader, changes.length - skipped);
  assert.equal(calls, 1);
  for (let p = 0; p < PARTITIONS; p++) {
    const offsets = read.filter((c) => c.partition === p).map((c) => c.offset);
    const start = stored.find((s) => s.partition === p)?.offset ?? 0;
    const total = perPartition.get(p) ?? 0;
    assert.deepEqual(offsets, Array.from({ length: total - start }, (_, i) => start + i), `partition ${p} from ${start}`);
  }
  assert.equal((await reader.poll(300)).changes.length, 0);
});

test('when a reader joins or leaves, the partitions it hands over restart from resumeFrom', async (t) => {
  const { publisher, feed } = await open(t);
  const group = uniqueName('g');
  const applied = new Map<number, number>();
  const resumeFrom = async (): Promise<StreamPosition[]> => [...applied].map(([partition, offset]) => ({ partition, offset }));
  const a = await feed.reader({ group, maxChanges: 1_000, maxWaitMs: 5, resumeFrom });
  t.after(() => a.close());
  const b = await feed.reader({ group, maxChanges: 1_000, maxWaitMs: 5, resumeFrom });
  let bClosed = false;
  t.after(() => (bClosed ? undefined : b.close()));

  const first = deltas(300, 30);
  await publisher.publish(first, first.map((_, i) => source(i)));
  // Both members read; each "applies" what it reads by storing the positions, and releases them.
  const seenBy = { a: new Set<number>(), b: new Set<number>() };
  let total = 0;
  await eventually('both readers to read the first changes', 20_000, async () => {
    for (const [name, reader] of [['a', a], ['b', b]] as const) {
      const batch = await reader.poll(50);
      for (const c of batch.changes) seenBy[name].add(c.partition);
      total += batch.changes.length;
      for (const p of batch.positions) applied.set(p.partition, p.offset);
      await reader.release(batch.positions);
    }
    return total >= first.length ? true : undefined;
  });
  assert.equal(total, first.length, 'each change read once by the group');
  for (const p of seenBy.a) assert.ok(!seenBy.b.has(p), `partition ${p} read by both`);
  assert.ok(seenBy.a.size > 0 && seenBy.b.size > 0);

  await b.close();
  bClosed = true;
  const second = deltas(120, 30, 300);
  await publisher.publish(second, second.map((_, i) => source(300 + i)));
  // a takes b's partitions over from the stored positions: it sees only the new changes.
  const read = await readChanges(a, second.length, applied);
  assert.equal(read.length, second.length);
  assert.deepEqual(read.map((c) => c.change).sort(byUser), [...second].sort(byUser));
  assert.equal((await a.poll(300)).changes.length, 0);
});

function byUser(x: Change, y: Change): number {
  const ux = x.kind === 'delta' ? x.userId : '';
  const uy = y.kind === 'delta' ? y.userId : '';
  return ux < uy ? -1 : ux > uy ? 1 : 0;
}
