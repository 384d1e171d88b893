import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoStreamCapture } from '../../../src/adapters/dynamodb/dynamo-stream-capture.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { CdcStep } from '../../../src/stages/cdc/cdc-stage.ts';
import { FakePublisher } from '../../stages/cdc/cdc-fakes.ts';
import { FakeCheckpoints, FakeStreams } from './stream-fakes.ts';

const log = createLogger('silent');

function relay(streams: FakeStreams, checkpoints: FakeCheckpoints, publisher: FakePublisher, losses: string[] = [], confirmed: number[] = []) {
  const capture = new DynamoStreamCapture(
    { streams, checkpoints, streamArn: async () => 'arn:fake', confirm: async (at) => void confirmed.push(at), onLoss: (why) => void losses.push(why), log },
    { roundMs: 1, confirmEveryMs: 0, shardListMs: 0, reuseIterators: true },
  );
  return new CdcStep({ capture, publisher, metrics: new Metrics({ defaultMetrics: false }), log }, { maxChanges: 3, idleMs: 1 });
}

async function drain(step: CdcStep): Promise<void> {
  for (let idle = 0; idle < 3; ) idle = (await step.step()) ? 0 : idle + 1;
}

const relayed = (publisher: FakePublisher): string[] =>
  publisher.all().map(({ change }) => (change.kind === 'delta' ? `${change.delta > 0 ? '+' : '-'}${change.postId}/${change.userId}` : `=${change.postId}:${change.count}`));

test('walks the lineage: a parent shard to its end, then its children; checkpoints per shard; each change once', async () => {
  const streams = new FakeStreams();
  streams.addShard('s0');
  streams.write('s0', { postId: 'p', userId: 'u1', delta: 1 });
  streams.write('s0', { postId: 'p', userId: 'u2', delta: 1 });
  streams.addShard('s1', 's0');
  streams.write('s1', { postId: 'p', userId: 'u1', delta: -1 });
  streams.write('s0', { postId: 'p', userId: 'u3', delta: 1 });
  streams.write('s0', { postId: 'q', count: 7 });
  streams.close('s0');
  const checkpoints = new FakeCheckpoints();
  const publisher = new FakePublisher(2);
  const confirmed: number[] = [];
  const step = relay(streams, checkpoints, publisher, [], confirmed);
  await step.open();
  await drain(step);
  assert.deepEqual(relayed(publisher).filter((c) => c.includes('p/')), ['+p/u1', '+p/u2', '+p/u3', '-p/u1'], 'the child (the unlike) after every record of its parent');
  assert.ok(relayed(publisher).includes('=q:7'));
  assert.equal(checkpoints.shards.get('s0')?.done, true);
  assert.equal(checkpoints.shards.get('s1')?.done, false);
  assert.equal(checkpoints.pending, undefined);
  assert.ok(confirmed.length > 0, 'an idle round confirms how far the relay is');
  streams.write('s1', { postId: 'p', userId: 'u9', delta: 1 });
  await drain(step);
  assert.deepEqual(relayed(publisher).slice(-1), ['+p/u9'], 'resumes after the checkpoint');
  await step.close();
});

test('kill -9 after Kafka took part of a batch: the restarted capture relays the same batch again, and each change lands once', async () => {
  const streams = new FakeStreams();
  streams.addShard('s0');
  for (let i = 0; i < 3; i++) streams.write('s0', { postId: `p${i}`, userId: 'u', delta: 1 });
  const checkpoints = new FakeCheckpoints();
  const publisher = new FakePublisher(2);
  const first = relay(streams, checkpoints, publisher);
  await first.open();
  publisher.failNext = { afterWriting: 2 };
  await assert.rejects(first.step());
  assert.ok(checkpoints.pending !== undefined, 'the batch was written ahead and not committed');
  // The process dies: nothing of it survives but the checkpoint table and Kafka.
  for (let i = 3; i < 5; i++) streams.write('s0', { postId: `p${i}`, userId: 'u', delta: 1 });
  const second = relay(streams, checkpoints, publisher);
  await second.open();
  await drain(second);
  assert.deepEqual(relayed(publisher).sort(), ['+p0/u', '+p1/u', '+p2/u', '+p3/u', '+p4/u']);
  await second.close();
});

test('an expired iterator is re-opened at the checkpoint; trimmed records are a loud loss and reading goes on', async () => {
  const streams = new FakeStreams();
  streams.addShard('s0');
  streams.write('s0', { postId: 'p', userId: 'u1', delta: 1 });
  const checkpoints = new FakeCheckpoints();
  const publisher = new FakePublisher(1);
  const losses: string[] = [];
  const step = relay(streams, checkpoints, publisher, losses);
  await step.open();
  await drain(step);
  streams.write('s0', { postId: 'p', userId: 'u2', delta: 1 });
  streams.expireNext = true;
  await drain(step);
  assert.deepEqual(relayed(publisher), ['+p/u1', '+p/u2']);
  assert.deepEqual(losses, []);
  await step.close();

  // The cdc was down past the retention: the records after its checkpoint were trimmed.
  streams.write('s0', { postId: 'p', userId: 'u3', delta: 1 });
  streams.write('s0', { postId: 'p', userId: 'u4', delta: 1 });
  streams.trim('s0', 3);
  const again = relay(streams, checkpoints, publisher, losses);
  await again.open();
  await drain(again);
  assert.equal(losses.length, 1, 'the loss is reported (the profile schedules a recount)');
  assert.deepEqual(relayed(publisher), ['+p/u1', '+p/u2', '+p/u4'], 'reading goes on from the trim horizon');

  // A shard begun and then gone from the stream is a loss too.
  streams.addShard('s9');
  streams.write('s9', { postId: 'p', userId: 'u5', delta: 1 });
  await drain(again);
  streams.write('s9', { postId: 'p', userId: 'u6', delta: 1 });
  streams.remove('s9');
  await drain(again);
  assert.equal(losses.length, 2);
  assert.equal(checkpoints.shards.get('s9')?.done, true, 'reported once');
  await again.close();
});
