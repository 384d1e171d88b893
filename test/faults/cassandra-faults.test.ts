/**
 * Fault tests of the distributed mode on the Cassandra profile (`--store cassandra`): each stage in
 * its own process under a steady write load; ingest, cdc and counter killed with SIGKILL; the
 * Cassandra node itself killed with SIGKILL and started again (commit-log replay); ingest and
 * counter scaled out and back; then, after drain, every count must equal its rows (read with CQL,
 * not Tally's adapters) and the independent model.
 *
 * Only this project's Cassandra is killed and restarted; Kafka, PostgreSQL and Redis are shared and
 * never touched.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../helpers/server-process.ts';
import { CONTACT_POINTS } from '../adapters/cassandra/cassandra-fixture.ts';
import { cassandraTables } from './cassandra-inspector.ts';
import { FaultCluster, run, services } from './fault-cluster.ts';

// Three rounds of each stage, as in the PostgreSQL profile's test (distributed-faults). A round
// cost 12-16 s of restarts while a restarted ingest or counter waited out the session timeout, so
// these tests ran two; restarted as static group members (FaultCluster) they take about half that.
const KILL_ROUNDS = 3;
const TESTS = 5;

const cluster = new FaultCluster({
  name: 'cassandra',
  store: 'cassandra',
  inspector: cassandraTables,
  flags: ['--cassandra-contact-points', CONTACT_POINTS, '--hot-shards', '1'],
  writer: { batchSize: 50, pauseMs: 40 },
  recoveryMs: 120_000,
});
let passed = 0;

before(async () => {
  await services('up', 'cassandra');
  await cluster.start();
});

after(async () => {
  await cluster.writer.stop().catch(() => undefined);
  await services('up', 'cassandra');
  await cluster.stop(passed === TESTS);
});

test('Cassandra unreachable at start-up: the stage stops with a message naming the option and what to do', { timeout: 60_000 }, async () => {
  const failed = await run('./tally', ['ingest', '--store', 'cassandra', '--hot-shards', '1', '--namespace', cluster.ns, '--cassandra-contact-points', '127.0.0.1:1'], { cwd: REPO_ROOT, timeout: 60_000 }).then(
    () => undefined,
    (error: unknown) => error as { code: number; stderr: string },
  );
  assert.ok(failed !== undefined, 'the stage must not start');
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /cannot reach Cassandra at --cassandra-contact-points 127\.0\.0\.1:1/);
  assert.match(failed.stderr, /\.\/tally services up cassandra/);
  passed++;
});

test(`kill -9 of ingest, cdc and counter at random moments under load, ${KILL_ROUNDS} times each, each restarted`, { timeout: 300_000 }, async (t) => {
  await cluster.killInRounds(['ingest', 'cdc', 'counter'], KILL_ROUNDS, (line) => t.diagnostic(line));
  t.diagnostic(`writer: ${cluster.writer.summary()}`);
  passed++;
});

test('kill -9 of the Cassandra node under load, then a restart: the stages retry and catch up', { timeout: 300_000 }, async (t) => {
  await sleep(500 + Math.random() * 1000);
  const pid = Number(readFileSync(join(REPO_ROOT, '.services', 'cassandra', 'cassandra.pid'), 'utf8').trim());
  assert.ok(pid > 0, 'the Cassandra pid file names a process');
  const before = cluster.writer.acknowledgedBatches;
  process.kill(pid, 'SIGKILL');
  await sleep(3000);
  cluster.assertAllAlive('while Cassandra is down');
  const started = Date.now();
  await services('up', 'cassandra');
  const restartMs = Date.now() - started;
  const recoveredMs = await cluster.pipelineFlows('after the restart of Cassandra');
  t.diagnostic(`Cassandra: restarted in ${restartMs} ms (commit-log replay), counting again ${recoveredMs} ms later; ${cluster.writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
  passed++;
});

test('ingest and counter grow from one process to two and back, under load', { timeout: 300_000 }, async (t) => {
  const { twoMs, oneMs } = await cluster.scaleOutAndBack('');
  t.diagnostic(`two of each counting ${twoMs} ms after both groups had two members; back to one, counting again ${oneMs} ms after the SIGTERM`);
  passed++;
});

test('after drain: every count equals its rows (CQL) and the model, and no acknowledged like is lost', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
