import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.ts';
import { WorkerLogWriter } from '../../../src/adapters/sqlite/sqlite-log-writer.ts';
import { isTallyError } from '../../../src/domain/errors.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-log-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('appends from many callers, committed by the writer thread while more arrive: every position is right and every event is in the file', async (t) => {
  const dir = tempDir(t);
  const db = new SqliteDatabase(dir, { file: 'log.db', roles: ['log'], checkpointer: false });
  const log = new SqliteEventLog(db, { partitions: 4, maxPendingEvents: 100_000, writer: new WorkerLogWriter(db.path) });
  await log.init();
  const appended: { events: LikeEvent[]; offsets: Map<number, number> }[] = [];
  // 200 appends in 20 waves: each wave arrives while the previous one may still be committing.
  for (let wave = 0; wave < 20; wave++) {
    const waveAppends = Array.from({ length: 10 }, (_, i) => {
      const events: LikeEvent[] = [{ op: 'like', postId: `p${(wave * 10 + i) % 7}`, userId: `u${wave}-${i}`, at: wave }];
      return log.append(events).then((result) => appended.push({ events, offsets: new Map(result.positions.map((p) => [p.partition, p.offset])) }));
    });
    if (wave % 2 === 0) await Promise.all(waveAppends);
  }
  await log.close();

  const file = new DatabaseSync(db.path);
  t.after(() => file.close());
  const rows = file.prepare('SELECT partition, base_offset, event_count, payload FROM log_records ORDER BY partition, base_offset').all() as { partition: number; base_offset: number; event_count: number; payload: string }[];
  const stored = rows.flatMap((r) => (JSON.parse(r.payload) as [number, string, string, number][]).map((tuple) => tuple[2]));
  assert.equal(appended.length, 200, 'every append resolved');
  assert.deepEqual([...stored].sort(), appended.map((a) => a.events[0]?.userId).sort(), 'the file holds exactly the appended events');
  for (let partition = 0; partition < 4; partition++) {
    const mine = rows.filter((r) => r.partition === partition);
    mine.forEach((row, i) => assert.equal(row.base_offset, i === 0 ? 0 : (mine[i - 1]?.base_offset ?? 0) + (mine[i - 1]?.event_count ?? 0), `partition ${partition}: offsets are contiguous`));
  }
  // Each append's position is at or past its own record's end, and never past the partition's end.
  const ends = new Map<number, number>();
  for (const r of rows) ends.set(r.partition, r.base_offset + r.event_count);
  for (const a of appended) for (const [partition, offset] of a.offsets) assert.ok(offset > 0 && offset <= (ends.get(partition) ?? 0));
  db.close();
});

test('a commit the writer thread cannot make rejects with a retriable backend_unavailable naming the file; the next write works again', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'log.db');
  const file = new DatabaseSync(path);
  file.exec('CREATE TABLE unrelated (x)');
  const writer = new WorkerLogWriter(path);
  t.after(() => writer.close());
  await assert.rejects(writer.write([{ partition: 0, base: 0, count: 1, payload: '[]' }]), (error: unknown) => {
    assert.ok(isTallyError(error) && error.code === 'backend_unavailable' && error.retriable === true, String(error));
    assert.match(error.message, /could not write to the embedded log .*log\.db: .*no such table: log_records/);
    return true;
  });
  file.exec('CREATE TABLE log_records (partition INTEGER, base_offset INTEGER, event_count INTEGER, payload TEXT)');
  file.close();
  await writer.write([{ partition: 0, base: 0, count: 1, payload: '[]' }]);
  const check = new DatabaseSync(path);
  assert.equal((check.prepare('SELECT count(*) AS n FROM log_records').get() as { n: number }).n, 1);
  check.close();
});
