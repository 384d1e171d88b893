import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { aggregateChanges, applyUpdate } from '../../src/domain/aggregate.ts';
import type { Change } from '../../src/domain/change.ts';
import { collapseToLastPerPair } from '../../src/domain/collapse.ts';
import { decodeCursor, encodeCursor } from '../../src/domain/cursor.ts';
import { TallyError } from '../../src/domain/errors.ts';
import { fnv1a, partitionOf, shardOf } from '../../src/domain/hash.ts';
import { isValidId } from '../../src/domain/ids.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';

test('ids: 1 to 64 of A-Z a-z 0-9 _ -, nothing else', () => {
  for (const ok of ['a', '1234567890123456789', 'A_b-9', 'x'.repeat(64)]) assert.ok(isValidId(ok), ok);
  for (const bad of ['', 'x'.repeat(65), 'a b', 'é', 'a/b', 'a.b', '1e3 ']) assert.ok(!isValidId(bad), bad);
});

test('hash: stable values (other languages must agree), partitions and shards in range', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (key, n) => {
      const p = partitionOf(key, n);
      const s = shardOf(key, n);
      return p >= 0 && p < n && s >= 0 && s < n && p === partitionOf(key, n);
    }),
  );
});

test('collapse keeps the last event of each pair, sorted by post then user', () => {
  const e = (op: 'like' | 'unlike', postId: string, userId: string, at: number): LikeEvent => ({ op, postId, userId, at });
  const out = collapseToLastPerPair([e('like', 'b', 'u1', 1), e('like', 'a', 'u2', 2), e('unlike', 'b', 'u1', 3), e('like', 'a', 'u1', 4), e('like', 'b', 'u1', 5)]);
  assert.deepEqual(out, [e('like', 'a', 'u1', 4), e('like', 'a', 'u2', 2), e('like', 'b', 'u1', 5)]);
});

test('collapse preserves the final state of every pair (property)', () => {
  const arb = fc.array(fc.record({ op: fc.constantFrom<'like' | 'unlike'>('like', 'unlike'), postId: fc.constantFrom('a', 'b'), userId: fc.constantFrom('1', '2', '3'), at: fc.nat() }));
  fc.assert(
    fc.property(arb, arb, (before, batch) => {
      const replay = (events: readonly LikeEvent[], state = new Set<string>()): Set<string> => {
        for (const ev of events) (ev.op === 'like' ? state.add.bind(state) : state.delete.bind(state))(`${ev.postId}/${ev.userId}`);
        return state;
      };
      const full = replay(batch, replay(before));
      const collapsed = replay(collapseToLastPerPair(batch), replay(before));
      assert.deepEqual([...collapsed].sort(), [...full].sort());
    }),
  );
});

test('collapse equals the reference: the last event per pair, ordered by post then user in UTF-16 code unit order (property)', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,4}$/);
  const arb = fc.array(fc.record({ op: fc.constantFrom<'like' | 'unlike'>('like', 'unlike'), postId: id, userId: id, at: fc.nat() }), { maxLength: 200 });
  const reference = (events: readonly LikeEvent[]): LikeEvent[] => {
    const last = new Map<string, LikeEvent>();
    for (const ev of events) last.set(JSON.stringify([ev.postId, ev.userId]), ev);
    const lt = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);
    return [...last.values()].sort((a, b) => lt(a.postId, b.postId) || lt(a.userId, b.userId));
  };
  fc.assert(fc.property(arb, (batch) => assert.deepEqual(collapseToLastPerPair(batch), reference(batch))));
});

test('aggregate folds deltas and recounts in feed order', () => {
  const changes: Change[] = [
    { kind: 'delta', postId: 'a', userId: '1', delta: 1 },
    { kind: 'delta', postId: 'b', userId: '1', delta: 1 },
    { kind: 'recount', postId: 'a', count: 10 },
    { kind: 'delta', postId: 'a', userId: '2', delta: -1 },
    { kind: 'delta', postId: 'b', userId: '2', delta: 1 },
  ];
  const updates = aggregateChanges(changes);
  assert.deepEqual(updates.get('a'), { base: 10, delta: -1 });
  assert.deepEqual(updates.get('b'), { base: undefined, delta: 2 });
  assert.equal(applyUpdate(99, updates.get('a') ?? { base: undefined, delta: 0 }), 9);
  assert.equal(applyUpdate(5, updates.get('b') ?? { base: undefined, delta: 0 }), 7);
});

test('aggregate then apply equals applying change by change (property)', () => {
  const change: fc.Arbitrary<Change> = fc.oneof(
    fc.record({ kind: fc.constant('delta' as const), postId: fc.constantFrom('a', 'b'), userId: fc.constant('u'), delta: fc.constantFrom<1 | -1>(1, -1) }),
    fc.record({ kind: fc.constant('recount' as const), postId: fc.constantFrom('a', 'b'), count: fc.nat(100) }),
  );
  fc.assert(
    fc.property(fc.array(change), fc.nat(50), (changes, start) => {
      const stepwise = new Map<string, number>();
      for (const c of changes) stepwise.set(c.postId, c.kind === 'delta' ? (stepwise.get(c.postId) ?? start) + c.delta : c.count);
      for (const [postId, update] of aggregateChanges(changes)) assert.equal(applyUpdate(start, update), stepwise.get(postId));
    }),
  );
});

test('cursors round-trip and forged ones are refused with invalid_cursor', () => {
  const cursor = { likedAt: 1_700_000_000_123, userId: 'u_1-x' };
  assert.deepEqual(decodeCursor(encodeCursor(cursor)), cursor);
  for (const forged of ['', 'zzz', Buffer.from('12:a b').toString('base64url'), Buffer.from('x:u1').toString('base64url')]) {
    assert.throws(() => decodeCursor(forged), (e: unknown) => e instanceof TallyError && e.code === 'invalid_cursor');
  }
});
