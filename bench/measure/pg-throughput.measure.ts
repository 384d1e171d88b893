/**
 * Measures the PostgreSQL adapters on the local server (not part of `npm test`):
 *   ./tally node bench/measure/pg-throughput.measure.ts [batches] [writers]
 * - apply: events/s through PgLikesStore.apply, batches of 5,000 events (90% likes of uniformly
 *   random (post, user) pairs over 200,000 posts and 1M users, 10% unlikes of earlier likes),
 *   `writers` concurrent appliers, 16 shards, 8 hash partitions;
 * - capture: changes/s out of PgChangeCapture (poll 10,000, acknowledge each batch) over the WAL
 *   the applies wrote.
 */
import { PgChangeCapture } from '../../src/adapters/postgres/pg-change-capture.ts';
import { PgLikesStore } from '../../src/adapters/postgres/pg-likes-store.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import { freshNamespace, PG_URL } from './measure-kit.ts';

const BATCH = 5000;
const batches = Number(process.argv[2] ?? 40);
const writers = Number(process.argv[3] ?? 1);

let seed = 42;
const random = (): number => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
  return seed / 2 ** 32;
};

/** Recent likes, so that unlikes remove rows that exist. */
const liked: { post: string; user: string }[] = [];

function makeBatch(b: number): LikeEvent[] {
  const events: LikeEvent[] = [];
  for (let i = 0; i < BATCH; i++) {
    const at = 1_700_000_000_000 + b * BATCH + i;
    if (i % 10 === 9 && liked.length > 0) {
      const pair = liked[Math.floor(random() * liked.length)] as { post: string; user: string };
      events.push({ op: 'unlike', postId: pair.post, userId: pair.user, at });
      continue;
    }
    const pair = { post: `post${Math.floor(random() * 200_000)}`, user: `user${Math.floor(random() * 1_000_000)}` };
    if (liked.length < 100_000) liked.push(pair);
    else liked[Math.floor(random() * liked.length)] = pair;
    events.push({ op: 'like', postId: pair.post, userId: pair.user, at });
  }
  return events;
}

const ns = await freshNamespace();
try {
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 16, maxConnections: Math.max(8, writers) }));
  await likes.init();
  const work = Array.from({ length: batches }, (_, b) => makeBatch(b));
  let next = 0;
  let changed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < work.length) {
        const batch = work[next++] as LikeEvent[];
        const result = await likes.apply(batch);
        changed += result.changed;
      }
    }),
  );
  const applySeconds = (performance.now() - started) / 1000;
  const events = batches * BATCH;
  console.log(`apply: ${events} events in ${batches} batches of ${BATCH}, ${writers} writer(s): ${applySeconds.toFixed(2)} s = ${Math.round(events / applySeconds)} events/s (${changed} rows changed)`);

  const capture = ns.track(new PgChangeCapture({ url: PG_URL, namespace: ns.namespace }));
  const captureStart = performance.now();
  await capture.init();
  let captured = 0;
  while (captured < changed) {
    const batch = await capture.poll(10_000, 2000);
    if (batch.changes.length === 0) throw new Error(`capture stalled at ${captured} of ${changed}`);
    captured += batch.changes.length;
    await batch.ack();
  }
  const captureSeconds = (performance.now() - captureStart) / 1000;
  console.log(`capture: ${captured} changes in ${captureSeconds.toFixed(2)} s = ${Math.round(captured / captureSeconds)} changes/s (connect included)`);
} finally {
  await ns.cleanup();
}
