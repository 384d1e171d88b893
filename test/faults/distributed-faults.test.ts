/**
 * Fault tests of the distributed mode on the PostgreSQL profile against the real servers: each
 * stage in its own process, four writers (two bulk, two single likes) as disjoint users over a
 * moving window of posts, a scheduled reconcile every 2 s; the api, ingest, cdc and counter
 * killed with SIGKILL, Kafka, PostgreSQL and Redis killed with SIGKILL and started again, ingest
 * and counter scaled out and in, Redis refusing writes while the last ones are counted; then,
 * after drain, every count and every (post, user) pair must equal the independent model.
 *
 * These restart the shared Kafka, PostgreSQL and Redis: they run in the serial phase of
 * scripts/test.sh (test/faults/), never beside other tests.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVERS } from '../helpers/distributed-namespace.ts';
import { eventually } from '../helpers/wait.ts';
import { FaultCluster, run, servicePid, services } from './fault-cluster.ts';
import { postgresTables } from './postgres-inspector.ts';

const KILL_ROUNDS = 3;
const SCALE_CYCLES = 3;
const TESTS = 5;

/** The likes and counts tables, read with plain SQL. */
const cluster = new FaultCluster({ name: 'postgres', store: 'postgres', inspector: postgresTables, initial: { reconcile: 1 } });
const kills: string[] = [];
let passed = 0;

/** Sets Redis's maxmemory (`1`: every write is refused, `0`: no limit, the project's setting). */
async function setRedisMaxmemory(bytes: string): Promise<void> {
  await run('redis-cli', ['-u', SERVERS.redisUrl, 'CONFIG', 'SET', 'maxmemory', bytes]);
}

before(async () => {
  await services('up');
  await cluster.start();
});

after(async () => {
  await cluster.writer.stop().catch(() => undefined);
  // Whatever happened, leave the shared servers running (and Redis writable) for the next tests.
  await services('up');
  await setRedisMaxmemory('0');
  await cluster.stop(passed === TESTS);
});

test(`kill -9 of the api, ingest, cdc and counter at random moments under load, ${KILL_ROUNDS} times each, each restarted`, { timeout: 400_000 }, async (t) => {
  kills.push(...(await cluster.killInRounds(['api', 'ingest', 'cdc', 'counter'], KILL_ROUNDS, (line) => t.diagnostic(line))));
  t.diagnostic(`writer: ${cluster.writer.summary()}`);
  passed++;
});

test('kill -9 of Kafka, PostgreSQL and Redis, one at a time, under load, each started again', { timeout: 600_000 }, async (t) => {
  for (const service of ['kafka', 'postgres', 'redis']) {
    await sleep(500 + Math.random() * 1000);
    const before = cluster.writer.acknowledgedBatches;
    const pid = await servicePid(service);
    const started = Date.now();
    process.kill(pid, 'SIGKILL');
    await sleep(1000);
    // PostgreSQL's backends notice their postmaster is gone and exit; `up` then starts it again.
    await eventually(`${service} started again`, 120_000, async () => services('up', service).then(() => true).catch(() => undefined), 2000);
    const restartMs = Date.now() - started;
    const recoveredMs = await cluster.pipelineFlows(`after kill -9 of ${service}`);
    kills.push(`${service} server ${restartMs + recoveredMs} ms`);
    t.diagnostic(`${service}: killed (pid ${pid}) and started again in ${restartMs} ms, counting again ${recoveredMs} ms later; ${cluster.writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
  }
  t.diagnostic(`writer: ${cluster.writer.summary()}`);
  passed++;
});

test(`ingest and counter grow from one process to two and back, under load, ${SCALE_CYCLES} times`, { timeout: 300_000 }, async (t) => {
  for (let cycle = 1; cycle <= SCALE_CYCLES; cycle++) {
    const { twoMs, oneMs } = await cluster.scaleOutAndBack(` (cycle ${cycle})`);
    t.diagnostic(`cycle ${cycle}: two of each counting ${twoMs} ms after both groups had two members; back to one, counting again ${oneMs} ms after the SIGTERM`);
  }
  passed++;
});

test('the last writes are counted while Redis refuses writes (maxmemory reached), then it takes them again', { timeout: 120_000 }, async (t) => {
  // Unlike a restart, the cache keeps its entries: counts the counter could not write must still
  // reach it later, though these posts get no more changes.
  await setRedisMaxmemory('1');
  try {
    const refused = await run('redis-cli', ['-u', SERVERS.redisUrl, 'SET', `${cluster.ns}:maxmemory-probe`, 'x']);
    assert.match(refused.stdout, /OOM/, `Redis refuses writes at maxmemory 1: ${refused.stdout}`);
    await sleep(1500);
    await cluster.writer.stop();
    await sleep(1500);
  } finally {
    await setRedisMaxmemory('0');
  }
  t.diagnostic(`writer stopped: ${cluster.writer.summary()}`);
  passed++;
});

test('after drain: every count equals its rows and the model, and no acknowledged like is lost', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  t.diagnostic(`${kills.length} kill -9 (recovery = restart + first counted write): ${kills.join(', ')}`);
  passed++;
});
