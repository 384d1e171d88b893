import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { LikesStore, LogFence } from '../../../src/ports/likes-store.ts';
import { IngestStep } from '../../../src/stages/ingest/ingest-stage.ts';

/** A likes store whose applies wait for a gate: an ingest that stalls between reading and applying. */
function stalled(store: LikesStore): { store: LikesStore; release: () => void; entered: Promise<void> } {
  let release = (): void => undefined;
  let enter = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const wrapper: LikesStore = Object.create(store) as LikesStore;
  wrapper.apply = async (events: readonly LikeEvent[], fence?: LogFence) => {
    enter();
    await gate;
    return store.apply(events, fence);
  };
  wrapper.logPositions = () => store.logPositions();
  return { store: wrapper, release, entered };
}

test('a stale ingest (its partitions moved on meanwhile) cannot undo newer events: its batch is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-fence-'));
  const db = new SqliteDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const log = new SqliteEventLog(db, { partitions: 2, maxPendingEvents: 1000 });
  const store = new SqliteLikesStore(db, { shards: 4 });
  await log.init();
  await store.init();
  const options = { group: 'ingest', maxEvents: 100, maxWaitMs: 0, idleMs: 50 };
  const metrics = new Metrics({ defaultMetrics: false });
  const slow = stalled(store);
  const zombie = new IngestStep({ log, store: slow.store, metrics }, options);
  const current = new IngestStep({ log, store, metrics }, options);
  await zombie.open();
  await current.open();

  await log.append([{ op: 'like', postId: 'p', userId: 'u', at: 1 }]);
  const zombieStep = zombie.step();
  await slow.entered; // the zombie holds [like] and stalls before applying it
  assert.equal(await current.step(), true); // the new owner applies [like]
  await log.append([{ op: 'unlike', postId: 'p', userId: 'u', at: 2 }]);
  assert.equal(await current.step(), true); // ... and the newer [unlike]
  assert.ok(!(await store.likedPosts('u', ['p'])).has('p'));

  slow.release();
  await assert.rejects(zombieStep, (e: unknown) => isTallyError(e) && e.code === 'position_conflict');
  assert.ok(!(await store.likedPosts('u', ['p'])).has('p'), 'the unlike stands: the stale like was not re-applied');
  await zombie.close();
  await current.close();
});
