import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change } from '../../../src/domain/change.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { CdcStep } from '../../../src/stages/cdc/cdc-stage.ts';
import { changePublisherConformance } from '../../conformance/change-publisher.conformance.ts';
import { FakeCapture, FakePublisher } from './cdc-fakes.ts';

const delta = (postId: string, userId: string, d: 1 | -1 = 1): Change => ({ kind: 'delta', postId, userId, delta: d });
const log = createLogger('silent');

function step(capture: FakeCapture, publisher: FakePublisher, metrics = new Metrics({ defaultMetrics: false })): CdcStep {
  return new CdcStep({ capture, publisher, metrics, log }, { maxChanges: 4, idleMs: 1 });
}

async function runUntilIdle(s: CdcStep): Promise<void> {
  while (await s.step());
}

test('relays every change in capture order per partition, acknowledging only after publishing', async () => {
  const capture = new FakeCapture();
  const publisher = new FakePublisher(3);
  capture.add(...Array.from({ length: 10 }, (_, i) => delta(`p${i % 4}`, `u${i}`)), { kind: 'recount', postId: 'p1', count: 3 });
  const s = step(capture, publisher);
  await s.open();
  assert.equal(publisher.inits, 1, 'the step opens the publisher');
  assert.equal(capture.inits, 1, 'and the capture');
  await runUntilIdle(s);
  assert.equal(capture.acknowledged, 11);
  assert.equal(publisher.all().length, 11);
  for (const records of publisher.partitions) {
    const sources = records.map((r) => r.source);
    assert.deepEqual(sources, [...sources].sort(), 'in order within each partition');
  }
  assert.equal(await s.step(), false, 'nothing left: an idle step');
  await s.close();
  assert.equal(publisher.closes, 1);
});

test('a failed publish is not acknowledged; after reopening, the batch is relayed once', async () => {
  const capture = new FakeCapture();
  const publisher = new FakePublisher(2);
  capture.add(...Array.from({ length: 8 }, (_, i) => delta(`p${i % 5}`, `u${i}`)));
  const s = step(capture, publisher);
  await s.open();
  await s.step();
  publisher.failNext = { afterWriting: 2 }; // two of the next batch reach the feed, then the broker fails
  await assert.rejects(s.step(), /fake broker/);
  assert.equal(capture.acknowledged, 4, 'the failed batch is not acknowledged');
  await s.close(); // what LoopStage does after an error
  await s.open();
  await runUntilIdle(s);
  const sources = publisher.all().map((r) => r.source).sort();
  assert.deepEqual(sources, capture.log.map((r) => r.source), 'each change exactly once');
});

test('after a crash between publish and acknowledge, a new relay skips what the feed already has', async () => {
  const capture = new FakeCapture();
  const publisher = new FakePublisher(4);
  capture.add(...Array.from({ length: 12 }, (_, i) => delta(`p${i % 7}`, `u${i}`, i % 3 === 0 ? -1 : 1)));
  publisher.failNext = { afterWriting: 4 }; // everything written, the acknowledgement lost: a crash right after publish
  const metrics = new Metrics({ defaultMetrics: false });
  const first = step(capture, publisher, metrics);
  await first.open();
  await assert.rejects(first.step());
  await first.close();
  assert.equal(capture.acknowledged, 0);
  const second = step(capture, publisher, metrics); // a new process: reads the published sources back
  await second.open();
  await runUntilIdle(second);
  assert.deepEqual(publisher.all().map((r) => r.source).sort(), capture.log.map((r) => r.source));
  assert.equal(capture.acknowledged, 12);
  const skipped = (await metrics.duplicatesSkipped.get()).values[0]?.value;
  assert.equal(skipped, 4, 'the four redelivered changes were skipped by source');
});

test('stepping a closed relay is an error, not a silent no-op', async () => {
  const s = step(new FakeCapture(), new FakePublisher(1));
  await assert.rejects(s.step(), /not open/);
});

// The fake must keep the port's contract, or the tests above prove nothing about the real relay.
changePublisherConformance('in-memory fake (test/stages/cdc/cdc-fakes.ts)', async () => {
  const feed = new FakePublisher(4);
  return {
    partitions: 4,
    publisher: () => new FakePublisher(feed),
    read: async () => feed.partitions.flatMap((records, partition) => records.map((r) => ({ partition, change: r.change }))),
    cleanup: async () => undefined,
  };
});
