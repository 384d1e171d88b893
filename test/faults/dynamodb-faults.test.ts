/**
 * Fault tests of the distributed mode on the DynamoDB profile (`--store dynamodb`) against
 * moto_server (./tally services up dynamodb), Kafka and Redis: each stage in its own process,
 * writers as disjoint users over a moving window of posts; the ingest, cdc and counter killed with SIGKILL, the emulator frozen with SIGSTOP under load, ingest
 * and counter scaled out and in; then, after drain, every count and every (post, user) pair must
 * equal the independent model and a Scan of the tables.
 *
 * It freezes only the emulator, which no other test file uses while this one runs (the emulator
 * keeps its data in memory: it is frozen, never killed). Kafka, PostgreSQL and Redis are untouched.
 */
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DYNAMODB_ENDPOINT } from '../adapters/dynamodb/dynamo-fixture.ts';
import { dynamoTables } from './dynamo-inspector.ts';
import { FaultCluster, servicePid } from './fault-cluster.ts';

// Three rounds of each stage, as in the PostgreSQL profile's test (distributed-faults). A round
// cost 12-16 s of restarts while a restarted ingest or counter waited out the session timeout, so
// these tests ran two; restarted as static group members (FaultCluster) they take about half that.
const KILL_ROUNDS = 3;
const SCALE_CYCLES = 1;
const FREEZE_MS = 10_000;
const TESTS = 4;

const cluster = new FaultCluster({
  name: 'dynamodb',
  store: 'dynamodb',
  inspector: dynamoTables,
  flags: ['--dynamodb-endpoint', DYNAMODB_ENDPOINT],
  // No scheduled reconcile here: a recount holds its posts' lock buckets while it counts 16 shards
  // a post, which on the one-request-at-a-time emulator stalls ingest for seconds every 2 s. The
  // recount's exactness under concurrent writes is the likes-store conformance suite's.
  initial: { reconcile: 0 },
  // The emulator serves one request at a time on a shared machine: a lighter load than PostgreSQL's.
  writer: { pauseMs: 60 },
  writers: [{ mode: 'bulk', batchSize: 50 }, { mode: 'single', batchSize: 10, shiftEvery: 400 }],
});
const kills: string[] = [];
let passed = 0;
let frozen: number | undefined;

before(async () => {
  await cluster.start();
});

after(async () => {
  if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
  await cluster.writer.stop().catch(() => undefined);
  await cluster.stop(passed === TESTS);
});

test(`kill -9 of ingest, cdc and counter at random moments under load, ${KILL_ROUNDS} times each, each restarted`, { timeout: 300_000 }, async (t) => {
  kills.push(...(await cluster.killInRounds(['ingest', 'cdc', 'counter'], KILL_ROUNDS, (line) => t.diagnostic(line))));
  passed++;
});

test(`the emulator frozen (SIGSTOP) for ${FREEZE_MS / 1000} s under load, then resumed: the stages retry and catch up`, { timeout: 180_000 }, async (t) => {
  const pid = await servicePid('dynamodb');
  const before = cluster.writer.acknowledgedBatches;
  process.kill(pid, 'SIGSTOP');
  frozen = pid;
  await sleep(FREEZE_MS);
  process.kill(pid, 'SIGCONT');
  frozen = undefined;
  const duringFreeze = cluster.writer.acknowledgedBatches - before;
  const recoveredMs = await cluster.pipelineFlows('after the emulator was frozen');
  kills.push(`dynamodb frozen ${FREEZE_MS + recoveredMs} ms`);
  t.diagnostic(`moto_server (pid ${pid}) frozen ${FREEZE_MS} ms; ${duringFreeze} batches acknowledged meanwhile (writes need only Kafka); counting again ${recoveredMs} ms after SIGCONT`);
  passed++;
});

test(`ingest and counter grow from one process to two and back, under load, ${SCALE_CYCLES} time(s)`, { timeout: 180_000 }, async (t) => {
  for (let cycle = 1; cycle <= SCALE_CYCLES; cycle++) {
    const { twoMs, oneMs } = await cluster.scaleOutAndBack(` (cycle ${cycle})`, 1000);
    t.diagnostic(`cycle ${cycle}: two of each counting ${twoMs} ms after both groups had two members; back to one, counting again ${oneMs} ms after the SIGTERM`);
  }
  passed++;
});

test('after drain: every count equals its rows (a Scan) and the model, and no acknowledged like is lost', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  t.diagnostic(`${kills.length} faults (recovery = restart + first counted write): ${kills.join(', ')}`);
  passed++;
});
