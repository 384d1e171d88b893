import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { markerPartitions, newErasure } from '../../../src/domain/erasure.ts';

async function freshLog(t: { after: (fn: () => void) => void }, maxWaitMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tally-markers-'));
  const db = new SqliteDatabase(dir, { checkpointer: false });
  const log = new SqliteEventLog(db, { partitions: 4, maxPendingEvents: 10_000 });
  await log.init();
  const consumer = await log.consumer({ group: 'ingest', maxEvents: 1000, maxWaitMs });
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { log, consumer };
}

test('a user erasure marker is a record in every partition; each batch ends at one marker, with the position past it', async (t) => {
  const { log, consumer } = await freshLog(t, 0);
  await log.append([{ op: 'like', postId: 'p1', userId: 'u1', at: 1 }, { op: 'like', postId: 'p2', userId: 'u1', at: 1 }]);
  const marker = newErasure('user', 'u1', log.hotShards);
  const appended = await log.appendErasure(marker);
  assert.deepEqual(appended.positions.map((p) => p.partition).sort(), markerPartitions(marker, 4));
  const markers: number[] = [];
  let events = 0;
  for (let i = 0; i < 10 && markers.length < 4; i++) {
    const batch = await consumer.poll(10);
    events += batch.events.length;
    if (batch.marker !== undefined) {
      assert.deepEqual(batch.marker.event, marker);
      assert.ok(batch.positions.some((p) => p.partition === batch.marker?.partition && p.offset === (batch.marker?.offset ?? -2) + 1), 'the batch positions include the marker');
      markers.push(batch.marker.partition);
    }
  }
  assert.equal(events, 2);
  assert.deepEqual(markers.sort(), [0, 1, 2, 3]);
});

test('regression: a marker that arrives alone while a batch waits to fill is not dropped', async (t) => {
  const { log, consumer } = await freshLog(t, 300);
  await log.append([{ op: 'like', postId: 'p1', userId: 'u1', at: 1 }]);
  const marker = newErasure('post', 'p9', 1);
  // The poll reads the like, then waits to fill; the marker lands meanwhile, in a read of its own.
  const polled = consumer.poll(50);
  setTimeout(() => void log.appendErasure(marker), 30);
  const batch = await polled;
  assert.equal(batch.events.length, 1);
  assert.deepEqual(batch.marker?.event, marker, 'the marker ends the batch');
});
