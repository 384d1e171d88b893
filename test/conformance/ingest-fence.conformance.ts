import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import type { LikesStore, LogFence } from '../../src/ports/likes-store.ts';
import { IngestStep } from '../../src/stages/ingest/ingest-stage.ts';

/**
 * A fresh likes store, and a way to get a second writer of the same data that stalls: `stalled`
 * returns an initialised store whose applies await `stall()` once started. By default the store's
 * `apply` is wrapped (the stall comes before the fence check); an adapter with a hook of its own
 * can stall later, after its fence check (Cassandra's `afterFenceCheck`), the hardest case.
 * `verify` runs adapter-specific checks at the end; `cleanup` drops the store.
 */
export interface IngestFenceFixture {
  readonly likes: LikesStore;
  readonly stalled?: (stall: () => Promise<void>) => Promise<LikesStore>;
  readonly verify?: (postId: string, userId: string) => Promise<void>;
  readonly cleanup: () => Promise<void>;
}

/** A store whose applies first wait for `stall` (an ingest that stalls between reading and applying). */
function stallBeforeApply(store: LikesStore, stall: () => Promise<void>): LikesStore {
  const wrapper: LikesStore = Object.create(store) as LikesStore;
  wrapper.apply = async (events: readonly LikeEvent[], fence?: LogFence) => {
    await stall();
    return store.apply(events, fence);
  };
  wrapper.logPositions = () => store.logPositions();
  return wrapper;
}

/**
 * The zombie-ingest contract of a likes store behind the ingest stage: an ingest whose partitions
 * moved to another member while it stalled cannot apply its (now stale) batch after the new owner
 * applied newer events. The stale batch is refused with `position_conflict`, and nothing of it
 * lands.
 */
export function ingestFenceConformance(label: string, make: () => Promise<IngestFenceFixture>): void {
  describe(`Ingest fence conformance: ${label}`, () => {
    test('a stale ingest (its partitions moved on while it stalled) cannot undo newer events: its batch is refused', async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'tally-fence-'));
      const db = new SqliteDatabase(dir);
      const fixture = await make();
      t.after(async () => {
        await fixture.cleanup();
        db.close();
        rmSync(dir, { recursive: true, force: true });
      });
      const log = new SqliteEventLog(db, { partitions: 2, maxPendingEvents: 1000 });
      await log.init();
      let release = (): void => undefined;
      let enter = (): void => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const entered = new Promise<void>((resolve) => (enter = resolve));
      const stall = async (): Promise<void> => {
        enter();
        await gate;
      };
      const stalledStore = fixture.stalled === undefined ? stallBeforeApply(fixture.likes, stall) : await fixture.stalled(stall);
      const store = fixture.likes;
      const options = { group: 'ingest', maxEvents: 100, maxWaitMs: 0, idleMs: 50 };
      const metrics = new Metrics({ defaultMetrics: false });
      const zombie = new IngestStep({ log, store: stalledStore, metrics }, options);
      const current = new IngestStep({ log, store, metrics }, options);
      await zombie.open();
      await current.open();

      await log.append([{ op: 'like', postId: 'p', userId: 'u', at: 1 }]);
      const zombieStep = zombie.step();
      await entered; // the zombie holds [like] and stalls
      assert.equal(await current.step(), true); // the new owner applies [like]
      await log.append([{ op: 'unlike', postId: 'p', userId: 'u', at: 2 }]);
      assert.equal(await current.step(), true); // ... and the newer [unlike]
      assert.ok(!(await store.likedPosts('u', ['p'])).has('p'));

      release();
      await assert.rejects(zombieStep, (e: unknown) => isTallyError(e) && e.code === 'position_conflict');
      assert.ok(!(await store.likedPosts('u', ['p'])).has('p'), 'the unlike stands: the stale like was not re-applied');
      await fixture.verify?.('p', 'u');
      await zombie.close();
      await current.close();
    });
  });
}
