import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { createStandaloneConsumer } from '../../../src/adapters/kafka/kafka-client.ts';
import { CHANGE_START, decodeChanges, decodeEvents, entriesOf, EVENT_START } from '../../../src/adapters/kafka/kafka-codec.ts';
import { KafkaEventLog } from '../../../src/adapters/kafka/kafka-event-log.ts';
import type { ErasureMarker } from '../../../src/domain/erasure.ts';
import { logPartitionOf } from '../../../src/domain/log-key.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { readEvents } from '../../conformance/event-log.conformance.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { BROKERS, kafkaNamespace, TEST_TIMINGS } from './kafka-test-kit.ts';

const like = (postId: string, userId: string, at: number, op: LikeEvent['op'] = 'like'): LikeEvent => ({ op, postId, userId, at });

async function openLog(t: TestContext, partitions: number, recordEvents: number): Promise<KafkaEventLog> {
  const log = new KafkaEventLog({ brokers: BROKERS, namespace: kafkaNamespace(t), partitions, hotShards: 4, recordEvents, maxPendingEvents: 100_000, groupTimings: TEST_TIMINGS });
  await log.init();
  t.after(() => log.close());
  return log;
}

interface RawRecord {
  readonly partition: number;
  readonly key: Buffer | null | undefined;
  readonly value: Buffer | null;
}

/** Every record of the topic, as an outside client reads it. */
async function rawRecords(t: TestContext, topic: string, partitions: number): Promise<RawRecord[]> {
  const raw = createStandaloneConsumer({ brokers: BROKERS }, 'test-raw');
  t.after(() => raw.close());
  const info = (await raw.metadata({ topics: [topic] })).topics.get(topic);
  assert.ok(info);
  const records: RawRecord[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const response = await raw.fetch({
      node: info.partitions[partition]?.leader ?? 1,
      topics: [{ topicId: info.id, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 8 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
      maxWaitTime: 100,
    });
    for (const batch of response.responses[0]?.partitions[0]?.records ?? []) {
      for (const r of batch.records) records.push({ partition, key: r.key, value: r.value });
    }
  }
  return records;
}

test('codec: a bundle decodes to its events in order; one foreign element makes the record foreign; a marker inside a bundle throws', () => {
  const a = like('p1', 'u1', 1);
  const b = like('p2', 'u2', 2, 'unlike');
  assert.deepEqual(decodeEvents(Buffer.from(JSON.stringify([a, b]))), [a, b]);
  assert.deepEqual(decodeEvents(Buffer.from(JSON.stringify(a))), [a], 'a single event is still read (records written with --kafka-record-events 1)');
  assert.equal(decodeEvents(Buffer.from(JSON.stringify([a, { hello: 1 }]))), undefined);
  assert.equal(decodeEvents(Buffer.from('[]')), undefined);
  assert.equal(decodeEvents(Buffer.from('[1,2]')), undefined);
  const marker: ErasureMarker = { op: 'erase-user', erasureId: 'e1', target: 'u1', at: 3, shards: 4 };
  assert.throws(() => decodeEvents(Buffer.from(JSON.stringify([a, marker]))), /inside a bundle/);
  assert.equal(entriesOf(Buffer.from(JSON.stringify([a, b, a])), EVENT_START), 3);
  assert.equal(entriesOf(Buffer.from(JSON.stringify(a)), EVENT_START), 1);
  assert.equal(entriesOf(null, EVENT_START), 1);
  const d = { kind: 'delta', postId: 'p1', userId: 'u1', delta: 1, source: '01' };
  const r = { kind: 'recount', postId: 'p1', count: 4, source: '02' };
  const changes = Buffer.from(JSON.stringify([d, r]));
  assert.equal(entriesOf(changes, CHANGE_START), 2);
  assert.deepEqual(decodeChanges(changes)?.map((c) => c.source), ['01', '02']);
  assert.equal(decodeChanges(Buffer.from(JSON.stringify([d, { kind: 'delta' }]))), undefined);
});

test('concurrent single-event appends share records: JSON arrays of the documented events, unkeyed, each in the partition of its log key', async (t) => {
  const partitions = 4;
  const log = await openLog(t, partitions, 500);
  const sent = Array.from({ length: 400 }, (_, i) => like(`post${i % 7}`, `user${i}`, 1_700_000_000_000 + i));
  const results = await Promise.all(sent.map((event) => log.append([event])));
  for (const [i, result] of results.entries()) {
    const event = sent[i] as LikeEvent;
    assert.deepEqual(result.positions.map((p) => p.partition), [logPartitionOf(event.postId, event.userId, 4, partitions)], 'each append is told the position of its own partition');
  }
  const records = await rawRecords(t, log.topic, partitions);
  assert.ok(records.length < sent.length / 4, `${records.length} records for ${sent.length} events appended at the same moment`);
  const read: LikeEvent[] = [];
  for (const record of records) {
    assert.ok(record.key === null || record.key === undefined || record.key.length === 0, 'a bundle has no key');
    const value = JSON.parse(record.value?.toString() ?? 'null') as unknown;
    assert.ok(Array.isArray(value), `a bundle is a JSON array: ${record.value?.toString().slice(0, 80)}`);
    for (const event of value as LikeEvent[]) {
      assert.deepEqual(Object.keys(event).sort(), ['at', 'op', 'postId', 'userId']);
      assert.equal(record.partition, logPartitionOf(event.postId, event.userId, 4, partitions));
      read.push(event);
    }
  }
  assert.deepEqual(read.map((e) => e.userId).sort(), sent.map((e) => e.userId).sort(), 'every event once');
  assert.ok(log.eventsPerRecord > 1, `events per record ${log.eventsPerRecord}`);
});

test('one (post, user) pair keeps its order across bundles and concurrent appends', async (t) => {
  const log = await openLog(t, 4, 3);
  // Ten likes and unlikes of one pair, each appended alone and all at once: bundles of at most 3.
  const flips = Array.from({ length: 10 }, (_, i) => like('p', 'u', i, i % 2 === 0 ? 'like' : 'unlike'));
  const others = Array.from({ length: 50 }, (_, i) => like('p', `o${i}`, 100 + i));
  await Promise.all([...flips, ...others].map((event) => log.append([event])));
  const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 1000, maxWaitMs: 5 });
  t.after(() => consumer.close());
  const { events } = await readEvents(consumer, flips.length + others.length);
  assert.deepEqual(events.filter((e) => e.userId === 'u').map((e) => e.at), flips.map((e) => e.at), 'in append order');
});

test('a batch holds at most maxEvents events across bundles; a bundle bigger than that is a batch of its own', async (t) => {
  const log = await openLog(t, 1, 500);
  await log.append(Array.from({ length: 300 }, (_, i) => like('p', `a${i}`, i)));
  for (let i = 0; i < 4; i++) await log.append(Array.from({ length: 60 }, (_, j) => like('p', `b${i}-${j}`, 1000 + j)));
  const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 100, maxWaitMs: 50 });
  t.after(() => consumer.close());
  const { batches } = await readEvents(consumer, 540);
  assert.deepEqual(batches.map((b) => b.events.length), [300, 60, 60, 60, 60], 'whole bundles, never more than 100 events unless one bundle alone is more');
});

test('an erasure marker between bundles is a record of its own and ends its batch, after the events appended before it', async (t) => {
  const log = await openLog(t, 1, 500);
  const before = Array.from({ length: 20 }, (_, i) => like(`p${i}`, 'gone', i));
  await Promise.all(before.map((event) => log.append([event])));
  const marker: ErasureMarker = { op: 'erase-user', erasureId: uniqueName('e'), target: 'gone', at: 50, shards: 4 };
  await log.appendErasure(marker);
  const after = Array.from({ length: 20 }, (_, i) => like(`p${i}`, 'gone', 100 + i));
  await Promise.all(after.map((event) => log.append([event])));
  const consumer = await log.consumer({ group: uniqueName('g'), maxEvents: 1000, maxWaitMs: 50 });
  t.after(() => consumer.close());
  const first = await consumer.poll(5_000);
  assert.deepEqual(first.events.map((e) => e.at).sort((x, y) => x - y), before.map((e) => e.at), 'the batch holds the events before the marker');
  assert.equal(first.marker?.event.erasureId, marker.erasureId, 'and ends with the marker');
  await consumer.commit(first);
  const { events } = await readEvents(consumer, after.length);
  assert.deepEqual(events.map((e) => e.at).sort((x, y) => x - y), after.map((e) => e.at));
  const records = await rawRecords(t, log.topic, 1);
  assert.ok(records.some((r) => r.value?.toString() === JSON.stringify(marker) && r.key?.toString() === `erase-user#gone`), 'the marker keeps its own keyed record');
});
