import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PgChangeCapture } from '../../../src/adapters/postgres/pg-change-capture.ts';
import { createPool } from '../../../src/adapters/postgres/pg-client.ts';
import { PgLikesStore } from '../../../src/adapters/postgres/pg-likes-store.ts';
import { parseLsn } from '../../../src/adapters/postgres/pg-lsn.ts';
import { pgNames } from '../../../src/adapters/postgres/pg-schema.ts';
import type { Change } from '../../../src/domain/change.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { ackAll, describeChange as describe, drain } from '../../conformance/change-capture.conformance.ts';
import { namespaceFor, PG_URL, type PgNamespace } from './pg-fixture.ts';

let clock = 1_700_000_000_000;
const like = (postId: string, userId: string): LikeEvent => ({ op: 'like', postId, userId, at: clock++ });
const unlike = (postId: string, userId: string): LikeEvent => ({ op: 'unlike', postId, userId, at: clock++ });
const deltas = (changes: readonly Change[]): number => changes.filter((c) => c.kind === 'delta').length;

async function setup(ns: PgNamespace, captureOptions: { maxBuffered?: number; statusIntervalMs?: number } = {}) {
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4 }));
  await likes.init();
  const capture = ns.track(new PgChangeCapture({ url: PG_URL, namespace: ns.namespace, ...captureOptions }));
  await capture.init();
  return { likes, capture };
}

async function confirmedFlush(namespace: string): Promise<bigint> {
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    const result = await pool.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [pgNames(namespace).slot]);
    return parseLsn(result.rows[0]?.lsn ?? '0/0');
  } finally {
    await pool.end();
  }
}

test('capture yields exactly the rows that really changed, in commit order, with growing fixed-width sources', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns);
  await likes.apply([like('p1', 'u1'), like('p1', 'u2')]);
  await likes.apply([like('p1', 'u1')]); // duplicate: no row change, no WAL change
  await likes.apply([unlike('p9', 'u1')]); // absent: nothing
  await likes.apply([unlike('p1', 'u2'), like('p2', 'u3')]);
  await likes.recount(['p1']);
  const got = await drain(capture, (c) => c.length >= 5);
  assert.deepEqual(got.changes.map(describe), ['+p1/u1', '+p1/u2', '+p2/u3', '-p1/u2', '=p1:1']);
  for (const source of got.sources) assert.match(source, /^[0-9a-f]{24}$/);
  for (let i = 1; i < got.sources.length; i++) assert.ok((got.sources[i - 1] as string) < (got.sources[i] as string), 'sources grow');
  await ackAll(got.batches);
  const empty = await capture.poll(100, 300);
  assert.deepEqual(empty.changes, [], 'nothing else: no change for the duplicate or the absent unlike');
  await empty.ack();
});

test('changes not acknowledged are redelivered after a restart; acknowledged ones are not', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns);
  await likes.apply([like('a', 'u1'), like('b', 'u1')]);
  await likes.apply([like('c', 'u1')]);
  const first = await drain(capture, (c) => c.length >= 3);
  assert.deepEqual(first.changes.map(describe), ['+a/u1', '+b/u1', '+c/u1']);
  await capture.close();
  await capture.init();
  const again = await drain(capture, (c) => c.length >= 3);
  assert.deepEqual(again.changes.map(describe), ['+a/u1', '+b/u1', '+c/u1'], 'redelivered after a restart without ack');
  assert.deepEqual(again.sources, first.sources, 'with the same sources');
  await ackAll(again.batches);
  await likes.apply([unlike('a', 'u1')]);
  await capture.close();
  await capture.init();
  const after = await drain(capture, (c) => c.length >= 1);
  assert.deepEqual(after.changes.map(describe), ['-a/u1'], 'acknowledged changes are gone');
});

test('a batch cut inside a transaction acknowledges only whole transactions: the rest is redelivered', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns);
  await likes.apply(Array.from({ length: 10 }, (_, i) => like('big', `u${i}`)));
  await likes.apply([like('small', 'u1')]);
  const part = await capture.poll(4, 5000);
  assert.equal(part.changes.length, 4);
  await part.ack(); // no whole transaction in it: the slot must not move past the big one
  await capture.close();
  await capture.init();
  const all = await drain(capture, (c) => c.length >= 11, { maxChanges: 7 });
  assert.equal(all.changes.length, 11);
  assert.deepEqual(all.sources.slice(0, 4), part.sources, 'the big transaction again, from its first change');
  await ackAll(all.batches); // the second batch ends both transactions
  await capture.close();
  await capture.init();
  const none = await capture.poll(100, 500);
  assert.deepEqual(none.changes, []);
});

test('acknowledgements advance the slot; keepalives advance it past WAL of other tables when idle', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns, { statusIntervalMs: 200 });
  const start = await confirmedFlush(ns.namespace);
  await likes.apply([like('a', 'u1')]);
  const got = await drain(capture, (c) => c.length >= 1);
  await ackAll(got.batches);
  const afterAck = await (async () => {
    for (let i = 0; i < 100; i++) {
      const lsn = await confirmedFlush(ns.namespace);
      if (lsn > start) return lsn;
      await sleep(50);
    }
    return start;
  })();
  assert.ok(afterAck > start, 'acknowledged transaction moved confirmed_flush_lsn');
  // Writes outside the publication make WAL the slot could hold forever.
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    await pool.query(`CREATE TABLE ${pgNames(ns.namespace).schema}.noise (x int)`);
    await pool.query(`INSERT INTO ${pgNames(ns.namespace).schema}.noise SELECT generate_series(1, 1000)`);
    const walNow = parseLsn((await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '0/0');
    let moved = afterAck;
    for (let i = 0; i < 300 && moved < walNow; i++) {
      const batch = await capture.poll(100, 50); // the relay keeps polling while idle
      assert.deepEqual(batch.changes, []);
      await batch.ack();
      moved = await confirmedFlush(ns.namespace);
    }
    assert.ok(moved >= walNow, `confirmed_flush_lsn reached the WAL written since (${moved} >= ${walNow})`);
  } finally {
    await pool.end();
  }
});

test('recount under concurrent applies: its count plus the deltas after it equals the final COUNT(*)', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns);
  const writers = Array.from({ length: 4 }, (_, w) =>
    (async () => {
      for (let b = 0; b < 40; b++) {
        const batch: LikeEvent[] = [];
        for (let i = 0; i < 25; i++) {
          const user = `u${(w * 7919 + b * 31 + i * 17) % 300}`;
          batch.push((b + i + w) % 3 === 0 ? unlike('hot', user) : like('hot', user));
        }
        await likes.apply(batch);
      }
    })(),
  );
  const recounts: number[] = [];
  const recounting = (async () => {
    for (let r = 0; r < 15; r++) {
      recounts.push((await likes.recount(['hot'])).get('hot') ?? -1);
      await sleep(5);
    }
  })();
  await Promise.all([...writers, recounting]);
  const final = (await likes.recount(['hot'])).get('hot') ?? -1;
  const got = await drain(capture, (c) => c.filter((x) => x.kind === 'recount').length >= 16, { timeoutMs: 25_000 });
  let checked = 0;
  got.changes.forEach((change, i) => {
    if (change.kind !== 'recount') return;
    let count = change.count;
    for (const later of got.changes.slice(i + 1)) {
      if (later.kind === 'delta') count += later.delta;
      else assert.equal(count, later.count, `recount #${checked} plus the deltas after it reaches the next recount exactly`);
      if (later.kind === 'recount') count = later.count;
    }
    assert.equal(count, final, `recount of ${change.count} plus the deltas after it equals the final COUNT(*) ${final}`);
    checked++;
  });
  assert.equal(checked, 16);
  assert.ok(deltas(got.changes) > 0);
  assert.deepEqual(got.changes.filter((c) => c.kind === 'recount').map((c) => (c.kind === 'recount' ? c.count : -1)), [...recounts, final]);
});

test('a full buffer pauses the stream without losing or reordering anything', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns, { maxBuffered: 50 });
  for (let b = 0; b < 20; b++) await likes.apply(Array.from({ length: 30 }, (_, i) => like(`p${b}`, `u${i}`)));
  await sleep(300); // let the server push as much as it can
  const got = await drain(capture, (c) => c.length >= 600, { maxChanges: 17 });
  assert.equal(got.changes.length, 600);
  assert.deepEqual(new Set(got.changes.map(describe)).size, 600);
  for (let i = 1; i < got.sources.length; i++) assert.ok((got.sources[i - 1] as string) < (got.sources[i] as string));
  await ackAll(got.batches);
});

test('poll before init, or on a missing slot, says what is wrong', async (t) => {
  const capture = new PgChangeCapture({ url: PG_URL, namespace: 'tally_no_such_ns' });
  await assert.rejects(capture.poll(10, 10), { code: 'not_ready' });
  await assert.rejects(capture.init(), (e: Error & { code?: string }) => e.code === 'not_ready' && /migrat/.test(e.message));
  await capture.close();
  const ns = await namespaceFor(t);
  const { capture: first } = await setup(ns);
  const second = ns.track(new PgChangeCapture({ url: PG_URL, namespace: ns.namespace, startTimeoutMs: 3000 }));
  await assert.rejects(second.init(), (e: Error & { code?: string; retriable?: boolean }) => e.code === 'backend_unavailable' && e.retriable === true, 'the slot is held by the first capture');
  await first.close();
});

test('a dropped replication connection fails the poll as retriable; close and init resume from the acknowledged position', async (t) => {
  const ns = await namespaceFor(t);
  const { likes, capture } = await setup(ns);
  await likes.apply([like('a', 'u1')]);
  const first = await drain(capture, (c) => c.length >= 1);
  await ackAll(first.batches);
  await likes.apply([like('b', 'u1')]);
  const second = await drain(capture, (c) => c.length >= 1); // handed out, not acknowledged
  assert.deepEqual(second.changes.map(describe), ['+b/u1']);
  const pool = createPool({ url: PG_URL, max: 1, applicationName: 'tally-test' });
  try {
    await pool.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [pgNames(ns.namespace).slot]);
  } finally {
    await pool.end();
  }
  await assert.rejects(
    (async () => {
      for (;;) await capture.poll(100, 100);
    })(),
    (e: Error & { code?: string; retriable?: boolean }) => e.code === 'backend_unavailable' && e.retriable === true,
  );
  await capture.close();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await capture.init();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error; // the old walsender may still hold the slot for a moment
      await sleep(100);
    }
  }
  await likes.apply([like('c', 'u1')]);
  const after = await drain(capture, (c) => c.length >= 2);
  assert.deepEqual(after.changes.map(describe), ['+b/u1', '+c/u1'], 'the unacknowledged change again, then the new one');
});
