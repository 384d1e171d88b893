import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCountNotifier } from '../../../src/adapters/redis/redis-count-notifier.ts';
import { countNotifierConformance, recorder } from '../../conformance/count-notifier.conformance.ts';
import { uniqueName } from '../../helpers/wait.ts';

const URL = process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function open(namespace: string): Promise<RedisCountNotifier> {
  const notifier = new RedisCountNotifier({ url: URL, namespace });
  await notifier.init();
  return notifier;
}

countNotifierConformance('redis pub/sub', async () => {
  const namespace = uniqueName('t');
  const publisher = await open(namespace);
  const subscriber = await open(namespace);
  const stranger = await open(uniqueName('t'));
  return {
    publisher,
    subscriber,
    stranger,
    cleanup: async () => {
      for (const n of [publisher, subscriber, stranger]) await n.close();
    },
  };
});

test('redis: a subscriber whose connection is cut subscribes again, tells its listeners to resync, and hears later counts', async (t) => {
  const namespace = uniqueName('t');
  const publisher = await open(namespace);
  const subscriber = await open(namespace);
  const admin = new Redis(URL);
  t.after(async () => {
    await publisher.close();
    await subscriber.close();
    await admin.quit();
  });
  const heard = recorder();
  subscriber.subscribe(heard);
  await publisher.publish([{ postId: 'a', count: 1, version: 1 }]);
  await heard.waitFor(1);
  // Only this test's own subscriber connections are cut (found by their name), never the shared server.
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  const ids = list
    .split('\n')
    .filter((l) => l.includes(`name=${namespace}-counts-sub `))
    .map((l) => /(?:^|\s)id=(\d+)/.exec(l)?.[1] ?? '');
  assert.equal(ids.length, 2, 'both subscriber connections are listed by their name');
  for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
  const deadline = Date.now() + 10_000;
  while (heard.resyncs === 0) {
    assert.ok(Date.now() < deadline, 'no resync after the connection came back');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await publisher.publish([{ postId: 'a', count: 2, version: 2 }]);
  await heard.waitFor(2);
  assert.deepEqual(heard.counts.at(-1), { postId: 'a', count: 2, version: 2 });
});
