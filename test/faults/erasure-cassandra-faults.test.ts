/**
 * kill -9 of each distributed stage (api, ingest, cdc, counter) on the Cassandra profile, each in
 * the middle of erasing a user with 2,000 likes, while other users keep writing: the PostgreSQL
 * test of erasure-faults.test.ts, smaller (seeding alone costs a lightweight transaction per like,
 * ~200 likes/s on this machine). Afterwards each erasure completes (status `applied`, exactly 2,000 removed: the plan
 * stored in the part's row makes a redone step count nothing twice), the user has no row left, and
 * every count of its posts equals its rows; the other writers' model is checked by
 * FaultCluster.verifyExact. Only Tally's own processes are killed, never a server.
 */
import { after, test } from 'node:test';
import { CONTACT_POINTS } from '../adapters/cassandra/cassandra-fixture.ts';
import { cassandraTables } from './cassandra-inspector.ts';
import { eraseUnderKills, type ErasureRound } from './erasure-rounds.ts';
import { FaultCluster, type StageKind } from './fault-cluster.ts';

const ROUND: ErasureRound = { likes: 2_000, shared: 200 };

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

test(`distributed --store cassandra: kill -9 of api, ingest, cdc and counter, each while erasing a user with ${ROUND.likes} likes: each erasure completes, counts are exact per pair`, { timeout: 240_000 }, async (t) => {
  await cluster.start();
  const kinds = (process.env.ERASURE_KILLS?.split(',') ?? ['ingest', 'counter', 'cdc', 'api']) as StageKind[];
  await eraseUnderKills(t, { cluster, inspector: cassandraTables, round: ROUND, kinds, appliedTimeoutMs: 90_000 });
  passed++;
});

test('distributed --store cassandra: the other writers lost nothing and every count equals its rows', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
