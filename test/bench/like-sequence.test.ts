import assert from 'node:assert/strict';
import { test } from 'node:test';
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
