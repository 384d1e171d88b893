/**
 * Fault test of hot posts across processes (PostgreSQL profile, real servers): a steady writer
 * puts 100% of its likes and unlikes on ONE post, whose log key is sub-sharded (`postId#k`,
 * `--hot-shards 4`) over the partitions of 2 ingest and 2 counter processes. Under that load one
 * ingest process is killed with SIGKILL (its sub-shards move to the survivor), a replacement joins,
 * then the same for a counter; after drain every (post, user) pair's final state and every count
 * must equal the independent model.
 *
 * It never restarts the shared servers (it only uses a namespace of its own).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaProgressProbe } from '../../src/adapters/kafka/kafka-progress-probe.ts';
import { SERVERS } from '../helpers/distributed-namespace.ts';
import { FaultCluster, type StageKind } from './fault-cluster.ts';
import { postgresTables } from './postgres-inspector.ts';

const TESTS = 2;

const cluster = new FaultCluster({
  name: 'hot-posts',
  store: 'postgres',
  inspector: postgresTables,
  flags: ['--hot-shards', '4'],
  initial: { ingest: 2, counter: 2 },
  // One post only (the window never moves): every event is on the hot post p0.
  writer: { posts: 1, shiftEvery: Number.MAX_SAFE_INTEGER, users: 400, batchSize: 200, pauseMs: 10 },
  recoveryMs: 60_000,
  // Dynamic members: the survivor takes the dead one's partitions once the broker drops it.
  staticMembers: false,
});
let passed = 0;

before(async () => {
  await cluster.start();
  await cluster.waitGroupMembers(2, 2);
});

after(async () => {
  await cluster.writer.stop().catch(() => undefined);
  await cluster.stop(passed === TESTS);
});

/** Kills one process of `kind` with SIGKILL, proves the survivor counts alone, then starts a replacement. */
async function killOne(kind: StageKind, t: { diagnostic: (line: string) => void }): Promise<void> {
  const victim = cluster.processes[kind].shift();
  assert.ok(victim !== undefined, `a ${kind} process runs`);
  const before = cluster.writer.acknowledgedBatches;
  victim.child.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');
  const aloneMs = await cluster.pipelineFlows(`after kill -9 of one ${kind}, with the other alone`);
  await cluster.launch(kind);
  const twoMs = await cluster.pipelineFlows(`after a new ${kind} joined`);
  t.diagnostic(`kill -9 ${kind}: the survivor counted again ${aloneMs} ms later; with a new one, ${twoMs} ms; ${cluster.writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
}

test('100% hot post, 2 ingest + 2 counter processes: kill -9 one ingest, then one counter, under load', { timeout: 150_000 }, async (t) => {
  await sleep(1000);
  await killOne('ingest', t);
  await sleep(500 + Math.random() * 1000);
  await killOne('counter', t);
  await sleep(1000);
  t.diagnostic(`writer: ${cluster.writer.summary()}`);
  // The one post's events are spread over every partition (hence over both ingest processes).
  const probe = new KafkaProgressProbe({ brokers: SERVERS.brokers, namespace: cluster.ns });
  await probe.init();
  const ends = await probe.logEnds().finally(() => probe.close());
  const total = ends.reduce((sum, p) => sum + p.offset, 0);
  t.diagnostic(`like-events per partition: ${ends.map((p) => p.offset).join(' / ')}`);
  assert.equal(ends.length, 4);
  for (const p of ends) assert.ok(p.offset > total * 0.15, `partition ${p.partition} holds ${p.offset} of ${total} events`);
  passed++;
});

test('after drain: every pair of the hot post and every count equal the model', { timeout: 120_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
