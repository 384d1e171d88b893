/**
 * kill -9 of each distributed stage (api, ingest, cdc, counter) in the middle of erasing a user
 * with 500 likes, on the DynamoDB profile (`--store dynamodb`, moto), while another user keeps
 * writing. Afterwards each erasure completes (status `applied`, exactly 500 removed: none counted
 * twice), the user has no row left (a Scan), and every count equals its rows per (post, user) pair;
 * the writer's model is checked by FaultCluster.verifyExact. Much smaller than the PostgreSQL test
 * (erasure-faults.test.ts, 20,000 likes): the emulator answers one request at a time, and its
 * TransactWriteItems deep-copies the table once per action (moto's rollback copy), so a transaction
 * of the likes table costs in proportion to the table's size: 5,000 likes took minutes, 1,000 over a
 * minute a round. Only Tally's own processes are killed; the emulator, Kafka and Redis are
 * untouched, so this file may run beside other tests.
 */
import { after, test } from 'node:test';
import { DYNAMODB_ENDPOINT } from '../adapters/dynamodb/dynamo-fixture.ts';
import { dynamoTables } from './dynamo-inspector.ts';
import { eraseUnderKills, type ErasureRound } from './erasure-rounds.ts';
import { FaultCluster, type StageKind } from './fault-cluster.ts';

const ROUND: ErasureRound = { likes: 500, shared: 50 };

const cluster = new FaultCluster({
  name: 'erasure-dynamodb',
  store: 'dynamodb',
  inspector: dynamoTables,
  flags: ['--dynamodb-endpoint', DYNAMODB_ENDPOINT, '--erase-batch', '50', '--hot-shards', '2'],
  // No scheduled reconcile: on the emulator a recount holds its posts' lock buckets for seconds
  // (see dynamodb-faults.test.ts); recounts racing erasures are the e2e erasure-model test's.
  initial: { reconcile: 0 },
  // A light writer over a fixed set of pairs: the likes table stays small (see above: every
  // transaction's cost grows with it), while likes and unlikes flow through every kill.
  writer: { posts: 20, users: 20, shiftEvery: 1_000_000 },
  writers: [{ mode: 'bulk', batchSize: 20, pauseMs: 150 }],
  recoveryMs: 60_000,
});
let passed = 0;
after(async () => {
  await cluster.stop(passed === 2);
});

const KINDS = (process.env.ERASURE_KILLS?.split(',') ?? ['ingest', 'counter', 'cdc', 'api']) as StageKind[];

test(`dynamodb: kill -9 of ${KINDS.join(', ')}, each while erasing a user with ${ROUND.likes} likes: each erasure completes, counts are exact per pair`, { timeout: 240_000 }, async (t) => {
  await cluster.start();
  await eraseUnderKills(t, { cluster, inspector: dynamoTables, round: ROUND, kinds: KINDS, appliedTimeoutMs: 120_000 });
  passed++;
});

test('dynamodb: the other writer lost nothing and every count equals its rows', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
