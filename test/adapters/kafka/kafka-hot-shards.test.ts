import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { createAdmin } from '../../../src/adapters/kafka/kafka-client.ts';
import { KafkaEventLog } from '../../../src/adapters/kafka/kafka-event-log.ts';
import { hotShardsMarker, recordedHotShards } from '../../../src/adapters/kafka/kafka-hot-shards.ts';
import { deleteListedTopics, likeEventsTopic } from '../../../src/adapters/kafka/kafka-topics.ts';
import { KafkaProgressProbe } from '../../../src/adapters/kafka/kafka-progress-probe.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { logPartitionOf } from '../../../src/domain/log-key.ts';
import { eventually } from '../../helpers/wait.ts';
import { BROKERS, kafkaNamespace, TEST_TIMINGS } from './kafka-test-kit.ts';

const hot = (n: number, from = 0): LikeEvent[] => Array.from({ length: n }, (_, i) => ({ op: 'like', postId: 'hot', userId: `u${i + from}`, at: 1_700_000_000_000 + i }));

function openLog(namespace: string, hotShards: number, appends = true): KafkaEventLog {
  return new KafkaEventLog({ brokers: BROKERS, namespace, partitions: 4, hotShards, appends, maxPendingEvents: 100_000, groupTimings: TEST_TIMINGS });
}

async function topicState(namespace: string): Promise<{ markers: number[]; ends: number[] }> {
  const admin = createAdmin({ brokers: BROKERS });
  const probe = new KafkaProgressProbe({ brokers: BROKERS, namespace });
  await probe.init();
  try {
    const markers = recordedHotShards(likeEventsTopic(namespace), await admin.listTopics());
    return { markers, ends: (await probe.logEnds()).map((p) => p.offset) };
  } finally {
    await admin.close();
    await probe.close();
  }
}

/**
 * The recorded S values once the topic listing shows exactly `expected` (within 10 s). A broker
 * answers listings from its metadata cache, which takes the controller's committed topic changes
 * a moment after CreateTopics and DeleteTopics return (one CI run listed the old marker).
 */
function markersSettled(namespace: string, expected: readonly number[]): Promise<number[]> {
  return eventually(`the marker topics [${expected.join(', ')}] in the topic listing`, 10_000, async () => {
    const { markers } = await topicState(namespace);
    return isDeepStrictEqual(markers, expected) ? markers : undefined;
  }, 100);
}

test('hot shards: one post spreads over S partitions, keyed postId#k; S is recorded with the log', async (t) => {
  const namespace = kafkaNamespace(t);
  const log = openLog(namespace, 4);
  await log.init();
  t.after(() => log.close());
  const events = hot(400);
  const { positions } = await log.append(events);
  assert.equal(positions.length, 4, 'the hot post is in all 4 partitions');
  for (const e of events.slice(0, 20)) assert.ok(positions.some((p) => p.partition === logPartitionOf('hot', e.userId, 4, 4)));
  assert.deepEqual(await markersSettled(namespace, [4]), [4]);
  // Same S again: accepted.
  const again = openLog(namespace, 4);
  await again.init();
  await again.close();
});

test('hot shards: a change of --hot-shards while the log is not drained is refused, names the option, and changes nothing', async (t) => {
  const namespace = kafkaNamespace(t);
  const log = openLog(namespace, 4);
  await log.init();
  await log.append(hot(100));
  await log.close();
  assert.deepEqual(await markersSettled(namespace, [4]), [4]);
  const before = await topicState(namespace);

  const changed = openLog(namespace, 2);
  await assert.rejects(changed.init(), (error: unknown) => {
    assert.ok(isTallyError(error) && error.code === 'invalid_option', String(error));
    assert.match(error.message, /--hot-shards 2 \(TALLY_HOT_SHARDS\) differs from the 4/);
    assert.match(error.message, /100 events in it are not applied by ingest yet/);
    assert.match(error.message, /Start with --hot-shards 4/);
    return true;
  });
  await changed.close();
  assert.deepEqual(await topicState(namespace), before, 'the marker and the log are as they were');

  // A process that only consumes (ingest, counter, cdc) does not depend on S: it neither checks nor moves it.
  const reader = openLog(namespace, 2, false);
  await reader.init();
  await assert.rejects(reader.append(hot(1)), /does not append/);
  await reader.close();
  assert.deepEqual(await topicState(namespace), before);

  // Once ingest's group has committed everything (the log is drained), the change is allowed.
  const drain = openLog(namespace, 4);
  await drain.init();
  const consumer = await drain.consumer({ group: 'ingest', maxEvents: 1000, maxWaitMs: 50 });
  let read = 0;
  const deadline = Date.now() + 20_000;
  while (read < 100 && Date.now() < deadline) {
    const batch = await consumer.poll(200);
    read += batch.events.length;
    await consumer.commit(batch);
  }
  assert.equal(read, 100);
  await drain.close();
  const moved = openLog(namespace, 2);
  await moved.init();
  t.after(() => moved.close());
  assert.deepEqual(await markersSettled(namespace, [2]), [2]);
});

test('hot shards: deleting a stale marker that another process deleted since the listing is no failure', async (t) => {
  const namespace = kafkaNamespace(t);
  const log = openLog(namespace, 4);
  await log.init();
  await log.close();
  const marker = hotShardsMarker(likeEventsTopic(namespace), (await markersSettled(namespace, [4]))[0] as number);
  const admin = createAdmin({ brokers: BROKERS });
  t.after(() => admin.close());
  // Two processes moving the marker at once: both listed it, both delete it; the second finds it gone.
  await deleteListedTopics(admin, [marker]);
  await markersSettled(namespace, []);
  await deleteListedTopics(admin, [marker]);
  // Any other failure still fails.
  const unreachable = createAdmin({ brokers: '127.0.0.1:1' });
  t.after(() => unreachable.close());
  await assert.rejects(deleteListedTopics(unreachable, [marker]));
});
