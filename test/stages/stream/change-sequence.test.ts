import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, randomInt } from '../../../bench/prng.ts';
import { ChangeSequence } from '../../../src/stages/stream/change-sequence.ts';
import { TopPosts } from '../../../src/stages/stream/top-posts.ts';

test('ChangeSequence never says "unchanged" for a post that changed after a mark, while it forgets posts past its bound', () => {
  const sequence = new ChangeSequence(20);
  const posts = Array.from({ length: 60 }, (_, i) => `p${i}`);
  // Ground truth: every post's latest change number.
  const latest = new Map<string, number>();
  const draw = mulberry32(12345);
  const random = (n: number): number => randomInt(draw, n);
  let unchangedAnswers = 0;
  for (let round = 0; round < 5_000; round++) {
    // Hot posts change often (in place), cold ones now and then (past the bound: forgotten).
    const postId = posts[random(4) === 0 ? random(posts.length) : random(5)] as string;
    const seq = sequence.next({ postId, count: round, version: round + 1 });
    assert.ok(seq !== undefined, 'a newer version gets a number');
    latest.set(postId, seq);
    const mark = random(sequence.current + 1);
    for (const post of posts) {
      const changed = (latest.get(post) ?? 0) > mark;
      const answer = sequence.changedAfter(post, mark);
      if (changed) assert.equal(answer, true, `round ${round}: ${post} changed at ${latest.get(post)}, after ${mark}`);
      if (!answer) unchangedAnswers++;
    }
  }
  assert.ok(unchangedAnswers > 10_000, `it still tells unchanged posts apart (${unchangedAnswers} "unchanged" answers)`);
});

test('ChangeSequence numbers a version once: an older or equal one gets no number and leaves the latest count', () => {
  const sequence = new ChangeSequence(10);
  assert.equal(sequence.next({ postId: 'a', count: 1, version: 3 }), 1);
  assert.equal(sequence.next({ postId: 'a', count: 1, version: 3 }), undefined);
  assert.equal(sequence.next({ postId: 'a', count: 0, version: 2 }), undefined);
  assert.deepEqual(sequence.latest('a'), { seq: 1, count: { postId: 'a', count: 1, version: 3 } });
  assert.equal(sequence.next({ postId: 'b', count: 4, version: 1 }), 2);
  assert.equal(sequence.next({ postId: 'a', count: 2, version: 4 }), 3);
  assert.equal(sequence.current, 3);
  assert.equal(sequence.changedAfter('a', 2), true);
  assert.equal(sequence.changedAfter('b', 2), false);
});

test('TopPosts ranks by likes gained in the window and keeps at most maxPosts last counts', () => {
  const top = new TopPosts({ maxPosts: 3 });
  top.changed([
    { postId: 'a', count: 1, version: 1 },
    { postId: 'b', count: 5, version: 1 },
  ]);
  top.changed([
    { postId: 'a', count: 9, version: 2 },
    { postId: 'b', count: 4, version: 2 },
    { postId: 'b', count: 4, version: 2 },
  ]);
  assert.deepEqual(top.top(10), [
    { postId: 'a', likes: 9, count: 9 },
    { postId: 'b', likes: 4, count: 4 },
  ]);
  // Past the bound the post heard of first (a) is forgotten: its next change adds no gain. And a
  // second's bucket holds at most maxPosts posts' gains (d comes fourth, within the same second
  // unless the clock ticks over, which the last assertion allows for).
  top.changed([
    { postId: 'c', count: 2, version: 1 },
    { postId: 'd', count: 3, version: 1 },
  ]);
  top.changed([{ postId: 'a', count: 20, version: 3 }]);
  const ranked = top.top(10).map((p) => [p.postId, p.likes]);
  assert.deepEqual(ranked.slice(0, 2), [
    ['a', 9],
    ['b', 4],
  ]);
  assert.ok(ranked.some(([postId, likes]) => postId === 'c' && likes === 2), JSON.stringify(ranked));
});
