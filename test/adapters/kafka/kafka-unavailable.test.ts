import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createAdmin, unavailable } from '../../../src/adapters/kafka/kafka-client.ts';

/** A loopback port nobody listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

test('a cluster that cannot be reached: the message names the refused address and what to do', async () => {
  const port = await closedPort();
  const admin = createAdmin({ brokers: `127.0.0.1:${port}` });
  try {
    const failure = await admin.listTopics().then(
      () => assert.fail('listing topics on a closed port succeeded'),
      (error: unknown) => error,
    );
    const error = unavailable('listing topics', failure);
    assert.equal(error.code, 'backend_unavailable');
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`^Kafka: listing topics failed: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    assert.match(error.message, /\.\/tally services up kafka/);
    assert.match(error.message, /--kafka-brokers/);
  } finally {
    await admin.close();
  }
});

test('a failure that is not about reaching the brokers keeps its reason and gives no start-up advice', () => {
  const inner = new Error('The topic does not exist');
  const outer = Object.assign(new Error('Creating topics failed.'), { errors: [inner] });
  const error = unavailable('creating x.like-events', outer);
  assert.equal(error.message, 'Kafka: creating x.like-events failed: Creating topics failed (The topic does not exist)');
  assert.equal(unavailable('sending', new Error('plain')).message, 'Kafka: sending failed: plain');
});
