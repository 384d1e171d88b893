/**
 * kill -9 of each distributed stage (api, ingest, cdc, counter) on the Cassandra profile, each in
 * the middle of erasing a user with 2,000 likes, while other users keep writing: the PostgreSQL
 * test of erasure-faults.test.ts, smaller (seeding alone costs a lightweight transaction per like,
 * ~200 likes/s on this machine). Afterwards each erasure completes (status `applied`, exactly 2,000 removed: the plan
 * stored in the part's row makes a redone step count nothing twice), the user has no row left, and
 * every count of its posts equals its rows; the other writers' model is checked by
 * FaultCluster.verifyExact. Only Tally's own processes are killed, never a server.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTACT_POINTS } from '../adapters/cassandra/cassandra-fixture.ts';
import { ErasureClient } from '../helpers/erasure-client.ts';
import { eventually } from '../helpers/wait.ts';
import { cassandraTables } from './cassandra-inspector.ts';
import { FaultCluster } from './fault-cluster.ts';

const LIKES = 2_000;
/** Posts also liked by a user who stays: their counts must drop from 2 to exactly 1. */
const SHARED = 200;

/** Seeds `victim` with LIKES likes (and `keeper` with SHARED of the same posts), each batch applied. */
async function seed(client: ErasureClient, prefix: string, victim: string): Promise<string[]> {
  const posts = Array.from({ length: LIKES }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < posts.length; i += 1000) {
    await client.accepted('POST', '/v1/events?wait=applied', { events: posts.slice(i, i + 1000).map((postId) => ({ op: 'like', postId, userId: victim })) });
  }
  await client.accepted('POST', '/v1/events?wait=applied', { events: posts.slice(0, SHARED).map((postId) => ({ op: 'like', postId, userId: `${victim}-keeper` })) });
  return posts;
}

/** Waits until the erasure has removed a random share (up to half) of the likes, and is still under way: the moment to kill. */
async function midway(client: ErasureClient, victim: string): Promise<number> {
  const threshold = 1 + Math.floor(Math.random() * (LIKES / 2));
  return eventually(`the erasure under way, ${threshold} removed`, 60_000, async () => {
    const status = await client.erasure(victim).catch(() => undefined);
    const removed = Number(status?.removed ?? 0);
    if (status?.status === 'applied') throw new Error(`the erasure completed before ${threshold} were removed: nothing to kill in the middle of`);
    return status?.status === 'pending' && removed >= threshold ? removed : undefined;
  }, 5);
}

async function applied(client: ErasureClient, victim: string): Promise<Record<string, unknown>> {
  return eventually('the erasure applied', 90_000, async () => {
    const status = await client.erasure(victim).catch(() => undefined);
    return status?.status === 'applied' ? status : undefined;
  }, 100);
}

const cluster = new FaultCluster({
  name: 'erasure-cassandra',
  store: 'cassandra',
  inspector: cassandraTables,
  flags: ['--cassandra-contact-points', CONTACT_POINTS, '--hot-shards', '1', '--erase-batch', '250'],
  writers: [{ mode: 'bulk', batchSize: 50, pauseMs: 50 }],
  recoveryMs: 90_000,
});
let passed = 0;
after(async () => {
  await cluster.stop(passed === 2);
});

test(`distributed --store cassandra: kill -9 of api, ingest, cdc and counter, each while erasing a user with ${LIKES} likes: each erasure completes, counts are exact per pair`, { timeout: 240_000 }, async (t) => {
  await cluster.start();
  const client = new ErasureClient(() => cluster.apiUrl());
  for (const kind of (process.env.ERASURE_KILLS?.split(',') ?? ['ingest', 'counter', 'cdc', 'api']) as ('api' | 'ingest' | 'cdc' | 'counter')[]) {
    const victim = `gone-${kind}`;
    const started = performance.now();
    const posts = await seed(client, `${kind}v`, victim);
    const seeded = performance.now();
    await client.accepted('DELETE', `/v1/users/${victim}/likes`);
    const at = await midway(client, victim);
    const restartMs = await cluster.killAndRestart(kind);
    const status = await applied(client, victim);
    const erased = performance.now();
    assert.equal(status.removed, LIKES, `${kind}: every like removed, none counted twice`);
    await cluster.pipelineFlows(`after the erasure with a ${kind} kill`);
    const pairs = await cassandraTables.pairs(cluster.ns);
    assert.equal([...pairs].filter((p) => p.endsWith(`/${victim}`)).length, 0, `${kind}: no row of the erased user`);
    const counts = await eventually(`${kind}: counts of the erased user's posts settle`, 60_000, async () => {
      const served = await client.counts(posts);
      return posts.every((p, i) => served.get(p) === (i < SHARED ? 1 : 0)) ? served : undefined;
    }, 250).catch(() => undefined);
    const stored = await cassandraTables.counts(cluster.ns);
    const wrong = posts.filter((p, i) => (stored.get(p) ?? 0) !== (i < SHARED ? 1 : 0) || (pairs.has(`${p}/${victim}-keeper`) ? 1 : 0) !== (i < SHARED ? 1 : 0));
    assert.deepEqual(wrong.slice(0, 10).map((p) => `${p}: stored ${String(stored.get(p))}, keeper row ${String(pairs.has(`${p}/${victim}-keeper`))}, victim row ${String(pairs.has(`${p}/${victim}`))}`), [], `${kind}: stored counts and rows exact per pair (${wrong.length} wrong)`);
    assert.ok(counts !== undefined, `${kind}: the API serves the exact counts`);
    t.diagnostic(`${kind}: killed after ${at} of ${LIKES} removed, restarted in ${restartMs} ms; erasure applied, counts exact; seeding ${Math.round(seeded - started)} ms, erasing ${Math.round(erased - seeded)} ms, checks ${Math.round(performance.now() - erased)} ms`);
    await sleep(200);
  }
  passed++;
});

test('distributed --store cassandra: the other writers lost nothing and every count equals its rows', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
