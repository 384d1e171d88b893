import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change, PositionedChange } from '../../src/domain/change.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import type { ChangeFeed } from '../../src/ports/change-feed.ts';
import type { LikesStore } from '../../src/ports/likes-store.ts';
import { uniqueName } from '../helpers/wait.ts';

/**
 * A fresh likes store and the change feed its changes reach. For a distributed store the fixture
 * runs whatever relays the changes into the feed (the cdc stage) until `cleanup`.
 */
export interface LikesStoreFixture {
  readonly likes: LikesStore;
  readonly feed: ChangeFeed;
  readonly cleanup: () => Promise<void>;
}

let clock = 1_700_000_000_000;
const like = (postId: string, userId: string): LikeEvent => ({ op: 'like', postId, userId, at: clock++ });
const unlike = (postId: string, userId: string): LikeEvent => ({ op: 'unlike', postId, userId, at: clock++ });

/** Reads the feed until `done(changes)` holds, or fails after `timeoutMs`. */
export async function readChanges(feed: ChangeFeed, done: (changes: PositionedChange[]) => boolean, timeoutMs = 20_000): Promise<PositionedChange[]> {
  const reader = await feed.reader({ group: uniqueName('g'), maxChanges: 10_000, maxWaitMs: 5, resumeFrom: async () => [] });
  try {
    const changes: PositionedChange[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!done(changes)) {
      if (Date.now() > deadline) throw new Error(`change feed: condition not met within ${timeoutMs} ms after ${changes.length} changes`);
      const batch = await reader.poll(200);
      changes.push(...batch.changes);
    }
    return changes;
  } finally {
    await reader.close();
  }
}

/** Folds the feed into per-post counts, the way the counter does. */
export function foldCounts(changes: readonly Change[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const change of changes) {
    counts.set(change.postId, change.kind === 'delta' ? (counts.get(change.postId) ?? 0) + change.delta : change.count);
  }
  return counts;
}

const deltaSum = (changes: readonly PositionedChange[]): number =>
  changes.reduce((sum, c) => sum + (c.change.kind === 'delta' ? 1 : 0), 0);

/** The contract of the LikesStore port and of the change feed it drives. */
export function likesStoreConformance(label: string, make: () => Promise<LikesStoreFixture>, options: { likesOf?: boolean } = {}): void {
  const likesOf = { skip: options.likesOf === false ? 'no index by user in this store yet' : false };
  describe(`LikesStore + ChangeFeed conformance: ${label}`, () => {
    test('liking twice is one like; unliking a post never liked is a no-op (invariant 1)', async (t) => {
      const { likes, feed, cleanup } = await make();
      t.after(cleanup);
      assert.equal((await likes.apply([like('p1', 'u1')])).changed, 1);
      assert.equal((await likes.apply([like('p1', 'u1')])).changed, 0);
      assert.equal((await likes.apply([unlike('p1', 'u2')])).changed, 0);
      assert.equal((await likes.apply([like('p1', 'u1'), like('p1', 'u1')])).changed, 0);
      assert.deepEqual([...(await likes.likedPosts('u1', ['p1', 'p2']))], ['p1']);
      const changes = await readChanges(feed, (c) => c.length >= 1);
      assert.deepEqual(changes.map((c) => c.change), [{ kind: 'delta', postId: 'p1', userId: 'u1', delta: 1 }]);
    });

    test('likedPosts over many posts answers exactly the viewer\'s likes among them (ids that look like numbers too)', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      const posts = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? String(i) : `m${i}`));
      const mine = posts.filter((_, i) => i % 4 === 1 || i % 7 === 0);
      await likes.apply([...mine.map((p) => like(p, 'viewer')), ...posts.map((p) => like(p, 'other'))]);
      assert.deepEqual([...(await likes.likedPosts('viewer', posts))].sort(), [...mine].sort());
      assert.deepEqual([...(await likes.likedPosts('viewer', ['007', 'nope', ...mine.slice(0, 3)]))].sort(), mine.slice(0, 3).sort());
      assert.equal((await likes.likedPosts('nobody', posts)).size, 0);
    });

    test('like → unlike → like from one user ends liked, in one batch and across batches (invariant 3)', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      await likes.apply([like('p1', 'u1'), unlike('p1', 'u1'), like('p1', 'u1')]);
      assert.ok((await likes.likedPosts('u1', ['p1'])).has('p1'));
      await likes.apply([unlike('p2', 'u1')]);
      await likes.apply([like('p2', 'u1')]);
      await likes.apply([unlike('p2', 'u1')]);
      assert.ok(!(await likes.likedPosts('u1', ['p2'])).has('p2'));
      await likes.apply([like('p3', 'u9'), unlike('p3', 'u9')]);
      assert.ok(!(await likes.likedPosts('u9', ['p3'])).has('p3'));
    });

    test('the feed carries exactly the rows that really changed, in order per post', async (t) => {
      const { likes, feed, cleanup } = await make();
      t.after(cleanup);
      const model = new Set<string>();
      const expectedDeltas: string[] = [];
      const batches: LikeEvent[][] = [];
      for (let b = 0; b < 20; b++) {
        const batch: LikeEvent[] = [];
        for (let i = 0; i < 30; i++) {
          const post = `p${(b * 7 + i) % 5}`;
          const user = `u${(b * 13 + i * 3) % 11}`;
          batch.push((b + i) % 4 === 0 ? unlike(post, user) : like(post, user));
        }
        batches.push(batch);
      }
      let total = 0;
      for (const batch of batches) {
        const before = new Set(model);
        for (const e of batch) {
          if (e.op === 'like') model.add(`${e.postId}/${e.userId}`);
          else model.delete(`${e.postId}/${e.userId}`);
        }
        for (const k of model) if (!before.has(k)) expectedDeltas.push(`+${k}`);
        for (const k of before) if (!model.has(k)) expectedDeltas.push(`-${k}`);
        total += (await likes.apply(batch)).changed;
      }
      assert.equal(total, expectedDeltas.length, 'changed counts of apply');
      const changes = await readChanges(feed, (c) => deltaSum(c) >= expectedDeltas.length);
      const actual = changes.map(({ change }) => (change.kind === 'delta' ? `${change.delta > 0 ? '+' : '-'}${change.postId}/${change.userId}` : 'recount'));
      assert.deepEqual([...actual].sort(), [...expectedDeltas].sort());
      const counts = foldCounts(changes.map((c) => c.change));
      for (let p = 0; p < 5; p++) {
        const rows = [...model].filter((k) => k.startsWith(`p${p}/`)).length;
        assert.equal(counts.get(`p${p}`) ?? 0, rows, `p${p}`);
      }
      for (let i = 1; i < changes.length; i++) {
        const a = changes[i - 1];
        const b = changes[i];
        if (a && b && a.partition === b.partition) assert.ok(a.offset <= b.offset, 'offsets grow within a partition');
      }
    });

    test('recount puts the exact count into the feed, even while applies run concurrently', async (t) => {
      const { likes, feed, cleanup } = await make();
      t.after(cleanup);
      await likes.apply(Array.from({ length: 50 }, (_, i) => like('hot', `u${i}`)));
      const writes = (async () => {
        for (let b = 0; b < 20; b++) {
          await likes.apply(Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? unlike('hot', `u${b * 10 + i}`) : like('hot', `u${b * 10 + i + 50}`))));
        }
      })();
      const recounts: number[] = [];
      for (let r = 0; r < 5; r++) recounts.push((await likes.recount(['hot'])).get('hot') ?? -1);
      await writes;
      const final = (await likes.recount(['hot'])).get('hot') ?? -1;
      for (const n of recounts) assert.ok(n >= 0);
      const changes = await readChanges(feed, (c) => c.filter((x) => x.change.kind === 'recount').length >= 6);
      const folded = foldCounts(changes.map((c) => c.change));
      assert.equal(folded.get('hot'), final, 'recount + later deltas agree with the final row count');
      // Replaying from each recount forward must reach the same final count: each recount is exact at its place.
      changes.forEach((c, i) => {
        if (c.change.kind !== 'recount') return;
        const tail = foldCounts(changes.slice(i).map((x) => x.change));
        assert.equal(tail.get('hot'), final, `recount #${i} of ${c.change.count} is exact at its place in the feed`);
      });
    });

    test('a fenced apply stores the log positions with the rows; a stale batch is refused and changes nothing', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      assert.deepEqual(await likes.logPositions(), []);
      await likes.apply([like('f1', 'u1')], { from: [{ partition: 2, offset: 0 }], to: [{ partition: 2, offset: 10 }] });
      assert.deepEqual(await likes.logPositions(), [{ partition: 2, offset: 10 }]);
      // A stale ingest replays an older batch (like then unlike of u1): it must not undo anything.
      await assert.rejects(
        likes.apply([unlike('f1', 'u1'), like('f1', 'u9')], { from: [{ partition: 2, offset: 0 }], to: [{ partition: 2, offset: 4 }] }),
        (e: unknown) => isTallyError(e) && e.code === 'position_conflict' && e.retriable,
      );
      assert.ok((await likes.likedPosts('u1', ['f1'])).has('f1'), 'the newer like survives');
      assert.ok(!(await likes.likedPosts('u9', ['f1'])).has('f1'), 'nothing of the refused batch was applied');
      await likes.apply([like('f1', 'u2')], { from: [{ partition: 2, offset: 10 }], to: [{ partition: 2, offset: 11 }, { partition: 0, offset: 3 }] });
      const positions = (await likes.logPositions()).sort((a, b) => a.partition - b.partition);
      assert.deepEqual(positions, [{ partition: 0, offset: 3 }, { partition: 2, offset: 11 }]);
    });

    test('likers are listed newest first with a working cursor; a forged cursor is refused', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      for (let i = 0; i < 25; i++) await likes.apply([{ op: 'like', postId: 'p1', userId: `u${String(i).padStart(2, '0')}`, at: 1_800_000_000_000 + i * 1000 }]);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await likes.likers('p1', 10, cursor);
        assert.ok(page.items.length <= 10);
        seen.push(...page.items.map((i) => i.userId));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `u${String(24 - i).padStart(2, '0')}`));
      const first = await likes.likers('p1', 1, undefined);
      assert.equal(first.items[0]?.likedAt, 1_800_000_000_000 + 24_000);
      await assert.rejects(likes.likers('p1', 10, 'not-a-cursor'), (e: unknown) => isTallyError(e) && e.code === 'invalid_cursor');
      assert.deepEqual((await likes.likers('nobody', 10, undefined)).items, []);
    });

    test('likesOf lists a user\'s likes newest first (ties by post id), page by page, and only its own', likesOf, async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      const base = 1_810_000_000_000;
      for (let i = 0; i < 23; i++) await likes.apply([{ op: 'like', postId: `q${String(i).padStart(2, '0')}`, userId: 'fan', at: base + i * 1000 }]);
      // Two likes in one millisecond: post id ascending breaks the tie.
      await likes.apply([{ op: 'like', postId: 'tie-b', userId: 'fan', at: base + 30_000 }, { op: 'like', postId: 'tie-a', userId: 'fan', at: base + 30_000 }]);
      await likes.apply([{ op: 'like', postId: 'q05', userId: 'other', at: base + 40_000 }, { op: 'like', postId: 'x', userId: 'other', at: base + 41_000 }]);
      await likes.apply([{ op: 'unlike', postId: 'q03', userId: 'fan', at: base + 50_000 }]);
      const expected = ['tie-a', 'tie-b', ...Array.from({ length: 23 }, (_, i) => `q${String(22 - i).padStart(2, '0')}`).filter((p) => p !== 'q03')];
      const seen: { postId: string; likedAt: number }[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await likes.likesOf('fan', 7, cursor);
        assert.ok(page.items.length <= 7);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined && pages < 20);
      assert.deepEqual(seen.map((i) => i.postId), expected);
      assert.equal(pages, 4);
      assert.deepEqual(seen[0], { postId: 'tie-a', likedAt: base + 30_000 });
      assert.deepEqual(seen.at(-1), { postId: 'q00', likedAt: base });
      const all = await likes.likesOf('fan', 100, undefined);
      assert.equal(all.items.length, expected.length);
      assert.equal(all.nextCursor, undefined, 'no cursor after the last page');
    });

    test('likesOf pages through many likes of one millisecond in post id order', likesOf, async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      const at = 1_815_000_000_000;
      const posts = Array.from({ length: 40 }, (_, i) => `m${String((i * 17) % 40).padStart(2, '0')}`);
      await likes.apply(posts.map((postId) => ({ op: 'like' as const, postId, userId: 'fan', at })));
      await likes.apply([{ op: 'like', postId: 'older', userId: 'fan', at: at - 1 }, { op: 'like', postId: 'newer', userId: 'fan', at: at + 1 }]);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 30; pages++) {
        const page = await likes.likesOf('fan', 6, cursor);
        seen.push(...page.items.map((i) => i.postId));
        cursor = page.nextCursor;
        if (cursor === undefined) break;
      }
      assert.deepEqual(seen, ['newer', ...[...posts].sort(), 'older']);
    });

    test('a likesOf cursor stays put while the user likes and unlikes', likesOf, async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      const base = 1_820_000_000_000;
      await likes.apply(Array.from({ length: 12 }, (_, i) => ({ op: 'like' as const, postId: `s${String(i).padStart(2, '0')}`, userId: 'fan', at: base + i * 1000 })));
      const first = await likes.likesOf('fan', 5, undefined);
      assert.deepEqual(first.items.map((i) => i.postId), ['s11', 's10', 's09', 's08', 's07']);
      // Newer likes, and an unlike of a post already shown: neither moves the rest of the list.
      await likes.apply([{ op: 'like', postId: 'new1', userId: 'fan', at: base + 60_000 }, { op: 'like', postId: 'new2', userId: 'fan', at: base + 61_000 }]);
      await likes.apply([{ op: 'unlike', postId: 's09', userId: 'fan', at: base + 62_000 }]);
      const rest: string[] = [];
      let cursor = first.nextCursor;
      while (cursor !== undefined) {
        const page = await likes.likesOf('fan', 5, cursor);
        rest.push(...page.items.map((i) => i.postId));
        cursor = page.nextCursor;
      }
      assert.deepEqual(rest, ['s06', 's05', 's04', 's03', 's02', 's01', 's00']);
      assert.deepEqual((await likes.likesOf('fan', 3, undefined)).items.map((i) => i.postId), ['new2', 'new1', 's11']);
    });

    test('likesOf refuses a cursor it did not issue, a likers cursor included; a user with no likes has an empty tab', likesOf, async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      await likes.apply([like('c1', 'u1'), like('c1', 'u2'), like('c2', 'u1')]);
      const likersCursor = (await likes.likers('c1', 1, undefined)).nextCursor;
      assert.ok(likersCursor !== undefined);
      const isInvalidCursor = (e: unknown): boolean => isTallyError(e) && e.code === 'invalid_cursor';
      await assert.rejects(likes.likesOf('u1', 10, 'not-a-cursor'), isInvalidCursor);
      await assert.rejects(likes.likesOf('u1', 10, likersCursor), isInvalidCursor);
      const tabCursor = (await likes.likesOf('u1', 1, undefined)).nextCursor;
      assert.ok(tabCursor !== undefined);
      await assert.rejects(likes.likers('c1', 10, tabCursor), isInvalidCursor, 'and the likers list refuses a Likes tab cursor');
      assert.deepEqual(await likes.likesOf('nobody', 10, undefined), { items: [], nextCursor: undefined });
      await likes.apply([unlike('c1', 'u2')]);
      assert.deepEqual(await likes.likesOf('u2', 10, undefined), { items: [], nextCursor: undefined }, 'unliked: gone from the tab');
    });

    test('postsAfter lists posts with rows in ascending order, page by page', async (t) => {
      const { likes, cleanup } = await make();
      t.after(cleanup);
      await likes.apply(['c', 'a', 'e', 'b', 'd'].map((p) => like(p, 'u1')));
      await likes.apply([unlike('e', 'u1')]);
      assert.deepEqual(await likes.postsAfter('', 2), ['a', 'b']);
      assert.deepEqual(await likes.postsAfter('b', 10), ['c', 'd']);
    });
  });
}
