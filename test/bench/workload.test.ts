import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveChanges, expectedCounts, generateWorkload, LIKE, UNLIKE, type WorkloadSpec } from '../../bench/workload.ts';

const SPEC: WorkloadSpec = { events: 20_000, posts: 300, users: 2000, zipf: 1.2, hotShare: 0, unlikeShare: 0.1, seed: 5, minGap: 50 };

/** Replays the events against a set of liked pairs, the way a correct server would. */
function replay(workload: ReturnType<typeof generateWorkload>, length = workload.post.length): Map<number, number> {
  const liked = new Set<string>();
  const counts = new Map<number, number>();
  for (let i = 0; i < length; i++) {
    const post = workload.post[i]!;
    const key = `${post}/${workload.user[i]!}`;
    let delta = 0;
    if (workload.op[i] === LIKE && !liked.has(key)) {
      liked.add(key);
      delta = 1;
    } else if (workload.op[i] === UNLIKE && liked.has(key)) {
      liked.delete(key);
      delta = -1;
    }
    assert.equal(delta, workload.delta[i], `event ${i}`);
    counts.set(post, (counts.get(post) ?? 0) + delta);
  }
  return counts;
}

test('the same spec gives the same events; another seed gives others', () => {
  const a = generateWorkload(SPEC);
  const b = generateWorkload(SPEC);
  const c = generateWorkload({ ...SPEC, seed: 6 });
  assert.deepEqual(a.post, b.post);
  assert.deepEqual(a.user, b.user);
  assert.deepEqual(a.op, b.op);
  assert.notDeepEqual(a.post, c.post);
});

test('expected counts equal a replay against a set of liked pairs, for any prefix', () => {
  const workload = generateWorkload(SPEC);
  for (const length of [0, 1, 777, SPEC.events]) {
    assert.deepEqual(expectedCounts(workload, length), replay(workload, length));
  }
  let nonZero = 0;
  for (const d of workload.delta) if (d !== 0) nonZero++;
  assert.equal(effectiveChanges(workload), nonZero);
});

test('about 10% unlikes, each of a pair liked earlier; counts never go negative', () => {
  const workload = generateWorkload(SPEC);
  assert.equal(workload.likes + workload.unlikes, SPEC.events);
  assert.ok(workload.unlikes > SPEC.events * 0.08 && workload.unlikes < SPEC.events * 0.12, `unlikes ${workload.unlikes}`);
  for (let i = 0; i < SPEC.events; i++) if (workload.op[i] === UNLIKE) assert.equal(workload.delta[i], -1);
  for (const count of expectedCounts(workload).values()) assert.ok(count >= 0);
});

test('two events of one (post, user) are at least minGap apart', () => {
  const workload = generateWorkload({ ...SPEC, users: 300, minGap: 200 });
  const last = new Map<string, number>();
  for (let i = 0; i < workload.post.length; i++) {
    const key = `${workload.post[i]!}/${workload.user[i]!}`;
    const previous = last.get(key);
    if (previous !== undefined) assert.ok(i - previous >= 200, `${key} at ${previous} and ${i}`);
    last.set(key, i);
  }
});

test('popularity is skewed by Zipf and the hot post takes its share', () => {
  const plain = generateWorkload(SPEC);
  const perPost = new Map<number, number>();
  for (const p of plain.post) perPost.set(p, (perPost.get(p) ?? 0) + 1);
  assert.ok((perPost.get(0) ?? 0) > 5 * (perPost.get(20) ?? 0));

  const hot = generateWorkload({ ...SPEC, hotShare: 0.3, unlikeShare: 0 });
  const onHot = hot.post.filter((p) => p === 0).length;
  assert.ok(Math.abs(onHot / SPEC.events - 0.3) < 0.02, `hot share ${onHot / SPEC.events}`);
});

test('a gap that cannot be kept is reported instead of looping', () => {
  assert.throws(() => generateWorkload({ ...SPEC, posts: 1, users: 2, minGap: 100 }), /cannot keep one \(post, user\)/);
});
