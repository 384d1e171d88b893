/**
 * Kafka as a 3-node cluster (`./tally services up kafka3`): Tally's topics get 3 replicas and
 * min.insync.replicas 2, the producers acks=all. Under a steady write load, the leader of a
 * like-events partition is killed with SIGKILL, twice (restarted in between): no acknowledged
 * like is lost, and every count is exact afterwards. Then the whole cluster is killed: writes get
 * 503 backend_unavailable with Retry-After within seconds, reads keep working, and once Kafka is
 * back everything acknowledged is counted.
 *
 * Starts and stops its own cluster (ports 9192-9194); runs in the serial phase (test/faults/).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdmin } from '../../src/adapters/kafka/kafka-client.ts';
import { likeEventsTopic } from '../../src/adapters/kafka/kafka-topics.ts';
import { REPO_ROOT } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';
import { FaultCluster, PROBE_POST, services } from './fault-cluster.ts';
import { postgresTables } from './postgres-inspector.ts';

const BROKERS = '127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194';
const KILLS = 1;
const TESTS = 3;

const cluster = new FaultCluster({ name: 'kafka3', store: 'postgres', inspector: postgresTables, brokers: BROKERS, recoveryMs: 120_000 });
let passed = 0;

/** The partitions of a topic: leader and in-sync replicas (node ids). */
async function partitionsOf(topic: string): Promise<{ partition: number; leader: number; isr: number[]; replicas: number[] }[]> {
  const admin = createAdmin({ brokers: BROKERS });
  try {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const found = metadata.topics.get(topic);
    assert.ok(found !== undefined, `topic ${topic} exists`);
    return found.partitions.map((p, partition) => ({ partition, leader: p.leader, isr: [...p.isr], replicas: [...p.replicas] }));
  } finally {
    await admin.close();
  }
}

function nodePid(node: number): number {
  return Number(readFileSync(join(REPO_ROOT, '.services', 'kafka3', `node${node}`, 'kafka.pid'), 'utf8').trim());
}

before(async () => {
  await services('up');
  await services('up', 'kafka3');
  await cluster.start();
});

after(async () => {
  await cluster.writer.stop().catch(() => undefined);
  await services('up', 'kafka3').catch(() => undefined);
  await cluster.stop(passed === TESTS);
  await services('down', 'kafka3');
});

test(`kill -9 of the leader of a like-events partition under load, ${KILLS} times: writes keep being acknowledged and counted`, { timeout: 420_000 }, async (t) => {
  const topic = likeEventsTopic(cluster.ns);
  const initial = await partitionsOf(topic);
  for (const p of initial) assert.equal(p.replicas.length, 3, `partition ${p.partition} has 3 replicas: ${JSON.stringify(p)}`);
  for (let kill = 1; kill <= KILLS; kill++) {
    await eventually('every partition has 3 in-sync replicas', 90_000, async () => ((await partitionsOf(topic)).every((p) => p.isr.length === 3) ? true : undefined), 500);
    const victim = (await partitionsOf(topic))[kill % initial.length]?.leader ?? -1;
    assert.ok(victim >= 1 && victim <= 3, `leader node id ${victim}`);
    const before = cluster.writer.acknowledgedBatches;
    process.kill(nodePid(victim), 'SIGKILL');
    const started = Date.now();
    const newLeader = await eventually('a new leader', 60_000, async () => {
      const leader = (await partitionsOf(topic))[kill % initial.length]?.leader ?? -1;
      return leader >= 1 && leader !== victim ? leader : undefined;
    }, 250);
    const electedMs = Date.now() - started;
    await cluster.pipelineFlows(`after kill -9 of Kafka node ${victim}, the leader`);
    t.diagnostic(`kill ${kill}: node ${victim} (leader) killed; node ${newLeader} leads after ${electedMs} ms; counting again after ${Date.now() - started} ms; ${cluster.writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
    await sleep(2000);
    await services('kafka3-start-node', String(victim));
  }
  t.diagnostic(`writer: ${cluster.writer.summary()}`);
  passed++;
});

test('every Kafka node killed: writes get 503 backend_unavailable with Retry-After quickly, reads keep working; then Kafka comes back', { timeout: 240_000 }, async (t) => {
  const before = await cluster.apiCounts([PROBE_POST]);
  for (const node of [1, 2, 3]) process.kill(nodePid(node), 'SIGKILL');
  const started = Date.now();
  const res = await fetch(`${cluster.apiUrl()}/v1/posts/kd1/likes/kd-user`, { method: 'PUT', signal: AbortSignal.timeout(30_000) });
  const tookMs = Date.now() - started;
  const body = (await res.json()) as { error?: { code: string } };
  assert.equal(res.status, 503, JSON.stringify(body));
  assert.equal(body.error?.code, 'backend_unavailable');
  assert.ok(Number(res.headers.get('retry-after')) > 0, `Retry-After: ${res.headers.get('retry-after')}`);
  assert.ok(tookMs < 15_000, `answered in ${tookMs} ms`);
  assert.deepEqual(await cluster.apiCounts([PROBE_POST]), before, 'reads keep working');
  const started2 = Date.now();
  await services('up', 'kafka3');
  const recoveredMs = await cluster.pipelineFlows('after Kafka came back');
  t.diagnostic(`Kafka down: a write answered 503 in ${tookMs} ms (Retry-After ${res.headers.get('retry-after')}); reads served; back and counting ${Date.now() - started2} ms after the restart began (${recoveredMs} ms of it waiting for a counted write)`);
  passed++;
});

test('after drain: every count equals its rows and the model, and no acknowledged like is lost', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
