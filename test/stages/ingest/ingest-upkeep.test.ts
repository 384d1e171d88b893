import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { LikesStore } from '../../../src/ports/likes-store.ts';
import { IngestStep } from '../../../src/stages/ingest/ingest-stage.ts';

test("ingest runs the store's deferred upkeep only when it finds no events, until the store says it is done", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-upkeep-'));
  const db = new SqliteDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const log = new SqliteEventLog(db, { partitions: 2, maxPendingEvents: 1000 });
  await log.init();
  const real = new SqliteLikesStore(db, { shards: 4 });
  await real.init();
  // The store's upkeep, scripted: each call takes the next answer (true: more is waiting).
  const answers: boolean[] = [];
  let calls = 0;
  const store: LikesStore = Object.create(real) as LikesStore;
  store.apply = (events, fence) => real.apply(events, fence);
  store.logPositions = () => real.logPositions();
  store.maintain = async () => {
    calls++;
    return answers.shift() ?? false;
  };
  const ingest = new IngestStep({ log, store, metrics: new Metrics({ defaultMetrics: false }) }, { group: 'ingest', maxEvents: 100, maxWaitMs: 0, idleMs: 20 });
  await ingest.open();
  t.after(() => ingest.close());

  await log.append([{ op: 'like', postId: 'p', userId: 'u', at: 1 }]);
  assert.equal(await ingest.step(), true, 'a batch');
  assert.equal(calls, 0, 'no upkeep while events are there');
  answers.push(true, true, false);
  assert.equal(await ingest.step(), true);
  assert.equal(await ingest.step(), true);
  assert.equal(await ingest.step(), false);
  assert.equal(calls, 3, 'an upkeep step per empty poll while the store has more');
  assert.equal(await ingest.step(), false, 'nothing to do');
  assert.equal(calls, 3, 'once the store is done, an empty poll waits instead');
  await log.append([{ op: 'like', postId: 'p', userId: 'v', at: 2 }]);
  assert.equal(await ingest.step(), true);
  answers.push(false);
  assert.equal(await ingest.step(), false);
  assert.equal(calls, 4, 'a batch makes upkeep possible again');
  assert.equal((await real.likedPosts('v', ['p'])).has('p'), true);
});
