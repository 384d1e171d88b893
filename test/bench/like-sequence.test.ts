import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { BenchHttp } from '../../bench/http-client.ts';
import { LikeSequence } from '../../bench/like-sequence.ts';
import { LoadGenerator } from '../../bench/load-generator.ts';

test('the wrk like sequence: expected counts and the replay cover exactly the likes used, a new user each', (t) => {
  const load = new LoadGenerator(undefined, '');
  t.after(() => load.close());
  const sequence = new LikeSequence(load, ['a', 'b', 'a'], 'w');
  sequence.sent = 7;
  sequence.acknowledged = 5;
  // k = 0..6 → posts a b a a b a a
  assert.deepEqual(sequence.expectations(), [
    { postId: 'a', count: 5 },
    { postId: 'b', count: 2 },
  ]);
  const bodies = sequence.replayBodies(3).map((b) => (JSON.parse(b.toString()) as { events: { op: string; postId: string; userId: string }[] }).events);
  assert.deepEqual(bodies.map((events) => events.length), [3, 3, 1]);
  const all = bodies.flat();
  assert.deepEqual(all.map((e) => e.userId), ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
  assert.ok(all.every((e) => e.op === 'like'));
  assert.deepEqual(all.map((e) => e.postId).join(''), 'abaabaa');
});

test('the bounds check flags a count above the likes sent, below sent − unanswered, or counts adding up to fewer than the 202s', async (t) => {
  let counts: Record<string, number> = {};
  const server = createServer((request, response) => {
    const posts = new URL(request.url ?? '/', 'http://x').searchParams.get('posts')?.split(',') ?? [];
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ counts: Object.fromEntries(posts.map((p) => [p, counts[p] ?? 0])) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const http = new BenchHttp(`http://127.0.0.1:${port}`, 2);
  const load = new LoadGenerator(undefined, '');
  t.after(async () => {
    load.close();
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const sequence = new LikeSequence(load, ['a', 'b'], 'w');
  // 10 likes built (a ×5, b ×5), 8 answered 2xx: each count within [sent − 2, sent], sum ≥ 8.
  sequence.sent = 10;
  sequence.acknowledged = 8;
  counts = { a: 5, b: 5 };
  assert.deepEqual(await sequence.checkBounds(http), []);
  counts = { a: 4, b: 4 };
  assert.deepEqual(await sequence.checkBounds(http), []);
  counts = { a: 6, b: 4 };
  assert.deepEqual(await sequence.checkBounds(http), [{ postId: 'a', count: 5, actual: 6 }]);
  counts = { a: 5, b: 2 };
  assert.deepEqual(await sequence.checkBounds(http), [
    { postId: 'b', count: 5, actual: 2 },
    { postId: '(sum of the wrk posts)', count: 8, actual: 7 },
  ]);
  counts = { a: 3, b: 4 };
  assert.deepEqual(await sequence.checkBounds(http), [{ postId: '(sum of the wrk posts)', count: 8, actual: 7 }]);
});
