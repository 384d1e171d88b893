import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { markerPartitions, newErasure, rowInPartition } from '../../src/domain/erasure.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import type { LikesStore } from '../../src/ports/likes-store.ts';
import { foldCounts, readChanges, type LikesStoreFixture } from './likes-store.conformance.ts';

const PARTITIONS = 4;
let clock = 1_710_000_000_000;
const like = (postId: string, userId: string): LikeEvent => ({ op: 'like', postId, userId, at: clock++ });

/**
 * Where the log would append a marker in the partition: after every event the store has applied
 * there. 0 for a store whose unfenced `apply` leaves the log positions alone; a store that numbers
 * unfenced events itself, as if it were the log (Cassandra), has moved them.
 */
async function markerOffset(likes: LikesStore, partition: number): Promise<number> {
  return (await likes.logPositions()).find((p) => p.partition === partition)?.offset ?? 0;
}

/** Runs one partition's part to the end; resolves with the rows each step removed. */
async function erasePart(likes: LikesStore, marker: ReturnType<typeof newErasure>, partition: number, limit: number): Promise<number[]> {
  const removed: number[] = [];
  const offset = await markerOffset(likes, partition);
  for (let i = 0; i < 1000; i++) {
    const step = await likes.eraseStep(marker, { partition, offset, partitions: PARTITIONS }, limit);
    removed.push(step.removed);
    if (step.done) return removed;
  }
  throw new Error('the part never finished');
}

/**
 * The erasure contract of the LikesStore port (issue 15): bounded, fenced steps that delete only
 * the rows of their log partition, an exact removed count, the position past the marker once
 * done, a change-feed record per deleted row.
 */
export function likesStoreErasureConformance(label: string, make: () => Promise<LikesStoreFixture>): void {
  describe(`LikesStore erasure conformance: ${label}`, () => {

    test('a user erasure: bounded steps, only its partition’s rows per part, exact removed count, position past the marker, a -1 per row in the feed', async (t) => {
      const { likes, feed, cleanup } = await make();
      t.after(cleanup);
      const posts = Array.from({ length: 40 }, (_, i) => `x${i}`);
      await likes.apply([...posts.map((p) => like(p, 'eve')), ...posts.slice(0, 10).map((p) => like(p, 'bob'))]);
      const marker = newErasure('user', 'eve', 1);
      await likes.erasureAccepted(marker, PARTITIONS);
      assert.deepEqual(
        { ...(await likes.erasureStatus('user', 'eve')), acceptedAt: 0 },
        { erasureId: marker.erasureId, kind: 'user', target: 'eve', status: 'pending', removed: 0, partitionsDone: 0, partitionsTotal: PARTITIONS, acceptedAt: 0 },
      );

      const at0 = await markerOffset(likes, 0);
      const steps = await erasePart(likes, marker, 0, 7);
      assert.ok(steps.every((n) => n <= 7), `at most 7 rows a step: ${steps.join(',')}`);
      const inZero = posts.filter((p) => rowInPartition(marker, p, 'eve', 0, PARTITIONS));
      const left = await likes.likedPosts('eve', posts);
      assert.deepEqual([...left].sort(), posts.filter((p) => !inZero.includes(p)).sort(), 'the part of partition 0 removed exactly its rows');
      assert.equal(steps.reduce((a, b) => a + b, 0), inZero.length);
      assert.deepEqual((await likes.logPositions()).find((p) => p.partition === 0), { partition: 0, offset: at0 + 1 }, 'the position past the marker once done');
      await assert.rejects(likes.eraseStep(marker, { partition: 0, offset: at0, partitions: PARTITIONS }, 7), (e: unknown) => isTallyError(e) && e.code === 'position_conflict', 'a step of a finished part is fenced off');
      assert.equal((await likes.erasureStatus('user', 'eve'))?.partitionsDone, 1);

      for (let q = 1; q < PARTITIONS; q++) await erasePart(likes, marker, q, 7);
      assert.equal((await likes.likedPosts('eve', posts)).size, 0);
      assert.equal((await likes.likedPosts('bob', posts)).size, 10, "another user's likes stay");
      const status = await likes.erasureStatus('user', 'eve');
      assert.equal(status?.status, 'applied');
      assert.equal(status?.removed, 40);
      assert.equal(status?.partitionsDone, PARTITIONS);

      const changes = await readChanges(feed, (c) => c.filter((x) => x.change.kind === 'delta' && x.change.delta < 0).length >= 40);
      const counts = foldCounts(changes.map((c) => c.change));
      for (const [i, p] of posts.entries()) assert.equal(counts.get(p) ?? 0, i < 10 ? 1 : 0, `count of ${p} from the feed`);
    });

    test('small steps over every part remove exactly the rows there were, and the status says so', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      const posts = Array.from({ length: 30 }, (_, i) => `y${i}`);
      await likes.apply(posts.map((p) => like(p, 'mal')));
      const marker = newErasure('user', 'mal', 1);
      let removed = 0;
      for (let q = 0; q < PARTITIONS; q++) {
        const offset = await markerOffset(likes, q);
        for (;;) {
          const step = await likes.eraseStep(marker, { partition: q, offset, partitions: PARTITIONS }, 4);
          removed += step.removed;
          if (step.done) break;
        }
      }
      assert.equal(removed, 30);
      assert.equal((await likes.erasureStatus('user', 'mal'))?.removed, 30);
    });

    test('a post erasure with sub-shards: its parts in the post’s partitions remove every like of it', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      const users = Array.from({ length: 25 }, (_, i) => `v${i}`);
      await likes.apply([...users.map((u) => like('gone', u)), like('kept', 'v1')]);
      const marker = newErasure('post', 'gone', 2);
      const parts = markerPartitions(marker, PARTITIONS);
      assert.equal(parts.length, 2);
      for (const q of parts) await erasePart(likes, marker, q, 6);
      assert.deepEqual((await likes.likers('gone', 100, undefined)).items, []);
      assert.equal((await likes.likers('kept', 100, undefined)).items.length, 1);
      const status = await likes.erasureStatus('post', 'gone');
      assert.equal(status?.status, 'applied');
      assert.equal(status?.removed, 25);
      assert.equal(status?.partitionsTotal, 2);
    });
  });
}
