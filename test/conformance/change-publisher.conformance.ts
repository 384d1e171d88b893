import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change } from '../../src/domain/change.ts';
import type { ChangePublisher } from '../../src/ports/change-publisher.ts';

/** A change as the feed holds it: the partition it is in (records in feed order). */
export interface FeedRecord {
  readonly partition: number;
  readonly change: Change;
}

/**
 * A fresh, empty change feed and the publishers that write into it. `publisher()` makes a new
 * publisher of the same feed (not yet initialised), as a relay restarted after a crash would;
 * `cleanup` closes every publisher it made, then deletes the feed.
 */
export interface ChangePublisherFixture {
  readonly publisher: () => ChangePublisher;
  /** Partitions of the feed. */
  readonly partitions: number;
  /** Reads the feed from its start until it held `count` changes; in order within each partition. */
  readonly read: (count: number) => Promise<FeedRecord[]>;
  readonly cleanup: () => Promise<void>;
}

/** Fixed-width hex sources, increasing in publish order. */
const source = (i: number): string => i.toString(16).padStart(24, '0');

function changes(n: number, from: number): Change[] {
  return Array.from({ length: n }, (_, i): Change => {
    const k = from + i;
    return k % 9 === 8 ? { kind: 'recount', postId: `post${k % 5}`, count: k } : { kind: 'delta', postId: `post${k % 5}`, userId: `user${k}`, delta: k % 4 === 3 ? -1 : 1 };
  });
}

const describeChange = (c: Change): string => (c.kind === 'delta' ? `${c.delta > 0 ? '+' : '-'}${c.postId}/${c.userId}` : `=${c.postId}:${c.count}`);

/** Per post, its changes in order. */
function perPost(list: readonly Change[]): Map<string, string[]> {
  const posts = new Map<string, string[]>();
  for (const change of list) posts.set(change.postId, [...(posts.get(change.postId) ?? []), describeChange(change)]);
  return posts;
}

/**
 * The contract of the ChangePublisher port (the transport side of CDC): every published change is
 * in the feed once, in the partition `partitionOf` names, in publish order per post; and
 * `publishedSources` says, per partition, the source of the last change there, to any publisher of
 * the feed, also after a restart: what a relay skips to publish each change once.
 */
export function changePublisherConformance(label: string, make: () => Promise<ChangePublisherFixture>): void {
  describe(`ChangePublisher conformance: ${label}`, () => {
    test('a fresh feed has no published sources; partitionOf is stable across publishers and within the partitions', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      const first = fixture.publisher();
      await first.init();
      assert.deepEqual(await first.publishedSources(), new Map());
      const second = fixture.publisher();
      await second.init();
      const seen = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const partition = first.partitionOf(`post${i}`);
        assert.ok(Number.isInteger(partition) && partition >= 0 && partition < fixture.partitions, `partition ${partition} of post${i}`);
        assert.equal(second.partitionOf(`post${i}`), partition, 'the same for every publisher');
        seen.add(partition);
      }
      assert.equal(seen.size, fixture.partitions, 'posts spread over every partition');
    });

    test('publishedSources holds, per partition, the source of the last change published there, also for a restarted publisher', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      const publisher = fixture.publisher();
      await publisher.init();
      const expected = new Map<number, string>();
      let next = 0;
      for (const size of [7, 1, 12]) {
        const batch = changes(size, next);
        const sources = batch.map((_, i) => source(next + i));
        await publisher.publish(batch, sources);
        batch.forEach((change, i) => expected.set(publisher.partitionOf(change.postId), sources[i] as string));
        next += size;
        assert.deepEqual(await publisher.publishedSources(), expected, `after ${next} changes`);
      }
      await publisher.close();
      const restarted = fixture.publisher();
      await restarted.init();
      assert.deepEqual(await restarted.publishedSources(), expected, 'read back from the feed by a new publisher');
      // A partition that gets nothing more keeps its source; one that does moves on.
      const more = changes(1, next);
      await restarted.publish(more, [source(next)]);
      expected.set(restarted.partitionOf((more[0] as Change).postId), source(next));
      assert.deepEqual(await restarted.publishedSources(), expected);
    });

    test('published changes are in the feed once, in the partition partitionOf names, in publish order per post', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      const publisher = fixture.publisher();
      await publisher.init();
      const all = [...changes(30, 0), ...changes(25, 30)];
      await publisher.publish(all.slice(0, 30), all.slice(0, 30).map((_, i) => source(i)));
      await publisher.publish(all.slice(30), all.slice(30).map((_, i) => source(30 + i)));
      const feed = await fixture.read(all.length);
      assert.equal(feed.length, all.length, 'each change once');
      for (const record of feed) assert.equal(record.partition, publisher.partitionOf(record.change.postId), `${describeChange(record.change)} in its partition`);
      assert.deepEqual(perPost(feed.map((r) => r.change)), perPost(all), 'in publish order per post');
    });

    test('changes and sources must match one to one; an empty publish writes nothing', async (t) => {
      const fixture = await make();
      t.after(fixture.cleanup);
      const publisher = fixture.publisher();
      await publisher.init();
      await assert.rejects(publisher.publish(changes(2, 0), [source(0)]));
      await publisher.publish([], []);
      assert.deepEqual(await publisher.publishedSources(), new Map(), 'nothing was published');
    });
  });
}
