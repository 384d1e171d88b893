import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaChangeFeed } from '../../../src/adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../../../src/adapters/kafka/kafka-change-publisher.ts';
import { deleteTopics, namespaceTopics } from '../../../src/adapters/kafka/kafka-topics.ts';
import { PgChangeCapture } from '../../../src/adapters/postgres/pg-change-capture.ts';
import { PgLikesStore } from '../../../src/adapters/postgres/pg-likes-store.ts';
import type { Change } from '../../../src/domain/change.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { CapturedBatch, ChangeCapture } from '../../../src/ports/change-capture.ts';
import { CdcStep } from '../../../src/stages/cdc/cdc-stage.ts';
import { LoopStage } from '../../../src/stages/loop-stage.ts';
import { BROKERS, TEST_TIMINGS } from '../../adapters/kafka/kafka-test-kit.ts';
import { namespaceFor, PG_URL } from '../../adapters/postgres/pg-fixture.ts';
import { eventually, uniqueName } from '../../helpers/wait.ts';
import { FakePublisher } from './cdc-fakes.ts';

const log = createLogger('silent');
let clock = 1_700_000_000_000;
const event = (i: number): LikeEvent => ({ op: i % 4 === 3 ? 'unlike' : 'like', postId: `p${i % 13}`, userId: `u${i % 37}`, at: clock++ });

/** Folds deltas and recounts into counts per post, the way the counter does. */
function fold(changes: Iterable<Change>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.postId, c.kind === 'delta' ? (counts.get(c.postId) ?? 0) + c.delta : c.count);
  return counts;
}

/** A capture whose next acknowledgements fail: the process "dies" after publishing, before acknowledging. */
class LosesAcks implements ChangeCapture {
  readonly #inner: ChangeCapture;
  lose = 0;
  constructor(inner: ChangeCapture) {
    this.#inner = inner;
  }
  init(): Promise<void> {
    return this.#inner.init();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
  async poll(maxChanges: number, idleMs: number): Promise<CapturedBatch> {
    const batch = await this.#inner.poll(maxChanges, idleMs);
    if (batch.changes.length === 0 || this.lose === 0) return batch;
    this.lose--;
    return { ...batch, ack: async () => Promise.reject(new Error('crash before the acknowledgement')) };
  }
}

test('relay from PostgreSQL: after crashes between publish and acknowledge, each change is published once', async (t) => {
  const ns = await namespaceFor(t);
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4 }));
  await likes.init();
  const publisher = new FakePublisher(3);
  const metrics = new Metrics({ defaultMetrics: false });
  for (let b = 0; b < 10; b++) await likes.apply(Array.from({ length: 50 }, (_, i) => event(b * 50 + i)));
  await likes.recount(['p1', 'p2']);

  for (let crash = 0; crash < 3; crash++) {
    // A new process each time, over the same slot and the same feed.
    const capture = new LosesAcks(new PgChangeCapture({ url: PG_URL, namespace: ns.namespace }));
    const relay = new CdcStep({ capture, publisher, metrics, log }, { maxChanges: 40 + crash * 50, idleMs: 100 });
    await relay.open();
    await relay.step();
    capture.lose = 1;
    await assert.rejects(relay.step(), /crash before the acknowledgement/);
    await relay.close();
    await likes.apply(Array.from({ length: 30 }, (_, i) => event(1000 + crash * 30 + i)));
  }
  const capture = new PgChangeCapture({ url: PG_URL, namespace: ns.namespace });
  const relay = new CdcStep({ capture, publisher, metrics, log }, { maxChanges: 1000, idleMs: 200 });
  await relay.open();
  t.after(() => relay.close());
  const expected = await likes.recount(['p0']); // lands after everything else
  await eventually('the recount of p0 relayed', 10_000, async () => {
    await relay.step();
    return publisher.all().some((r) => r.change.kind === 'recount' && r.change.postId === 'p0') ? true : undefined;
  });
  const sources = publisher.all().map((r) => r.source);
  assert.equal(new Set(sources).size, sources.length, 'no change published twice');
  for (const records of publisher.partitions) {
    const s = records.map((r) => r.source);
    assert.deepEqual(s, [...s].sort(), 'commit order within each partition');
  }
  assert.ok(((await metrics.duplicatesSkipped.get()).values[0]?.value ?? 0) > 0, 'redelivered changes were skipped');
  const posts = Array.from({ length: 13 }, (_, i) => `p${i}`);
  const folded = fold(publisher.partitions.flatMap((records) => records.map((r) => r.change)));
  const truth = await likes.recount(posts);
  for (const post of posts) assert.equal(folded.get(post) ?? 0, truth.get(post), `${post}: feed folds to COUNT(*)`);
  assert.equal(expected.get('p0'), truth.get('p0'));
});

test('relay into Kafka under a LoopStage: a failed acknowledgement reopens, the topic holds each change once', async (t) => {
  const ns = await namespaceFor(t);
  const namespace = ns.namespace;
  t.after(() => deleteTopics({ brokers: BROKERS }, namespaceTopics(namespace)));
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace, shards: 4 }));
  await likes.init();
  const feed = new KafkaChangeFeed({ brokers: BROKERS, namespace, partitions: 3, groupTimings: TEST_TIMINGS });
  await feed.init();
  t.after(() => feed.close());
  const capture = new LosesAcks(new PgChangeCapture({ url: PG_URL, namespace }));
  capture.lose = 2;
  const relay = new CdcStep({ capture, publisher: new KafkaChangePublisher({ brokers: BROKERS, namespace, partitions: 3 }), metrics: new Metrics({ defaultMetrics: false }), log }, { maxChanges: 60, idleMs: 50 });
  const stage = new LoopStage('cdc', relay, log, new Metrics({ defaultMetrics: false }));
  await stage.start();
  t.after(() => stage.stop());
  for (let b = 0; b < 8; b++) await likes.apply(Array.from({ length: 40 }, (_, i) => event(b * 40 + i)));
  const posts = Array.from({ length: 13 }, (_, i) => `p${i}`);
  await likes.recount(posts);
  const reader = await feed.reader({ group: uniqueName('g'), maxChanges: 10_000, maxWaitMs: 5, resumeFrom: async () => [] });
  t.after(() => reader.close());
  const read: Change[] = [];
  await eventually('all 13 recounts read from Kafka', 20_000, async () => {
    read.push(...(await reader.poll(200)).changes.map((c) => c.change));
    return read.filter((c) => c.kind === 'recount').length >= 13 ? true : undefined;
  });
  const truth = await likes.recount(posts);
  const deltas = read.filter((c) => c.kind === 'delta');
  const keys = deltas.map((c) => (c.kind === 'delta' ? `${c.postId}/${c.userId}/${c.delta}` : ''));
  const folded = fold(read);
  for (const post of posts) assert.equal(folded.get(post) ?? 0, truth.get(post), `${post}: feed folds to COUNT(*)`);
  // Without a recount in the way, the deltas alone must also add up: nothing duplicated or lost.
  const byDeltas = new Map<string, number>();
  for (const c of deltas) if (c.kind === 'delta') byDeltas.set(c.postId, (byDeltas.get(c.postId) ?? 0) + c.delta);
  for (const post of posts) assert.equal(byDeltas.get(post) ?? 0, truth.get(post), `${post}: deltas add up to COUNT(*) (${keys.length} deltas)`);
});
