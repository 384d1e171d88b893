/**
 * Kafka as a 3-node cluster (`./tally services up kafka3`): Tally's topics get 3 replicas and
 * min.insync.replicas 2, the producers acks=all. Under a steady write load, the leader of a
 * like-events partition is killed with SIGKILL, twice (restarted in between): no acknowledged
 * like is lost, and every count is exact afterwards.
 *
 * Starts and stops its own cluster (ports 9192-9194); runs in the serial phase (test/faults/).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createAdmin } from '../../src/adapters/kafka/kafka-client.ts';
import { likeEventsTopic } from '../../src/adapters/kafka/kafka-topics.ts';
import { SERVERS } from '../helpers/distributed-namespace.ts';
import { REPO_ROOT } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';
import { FaultCluster, services, type StoreInspector } from './fault-cluster.ts';

const BROKERS = '127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194';
const KILLS = 2;
const TESTS = 2;

const postgresTables: StoreInspector = {
  pairs: (ns) => query(`SELECT post_id, user_id FROM ${ns}.likes`, (rows: { post_id: string; user_id: string }[]) => new Set(rows.map((r) => `${r.post_id}/${r.user_id}`))),
  counts: (ns) => query(`SELECT post_id, count FROM ${ns}.counts`, (rows: { post_id: string; count: string }[]) => new Map(rows.map((r) => [r.post_id, Number(r.count)]))),
};

async function query<R extends pg.QueryResultRow, T>(sql: string, shape: (rows: R[]) => T): Promise<T> {
  const db = new pg.Client({ connectionString: SERVERS.postgresUrl });
  await db.connect();
  try {
    return shape((await db.query<R>(sql)).rows);
  } finally {
    await db.end();
  }
}

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

test('after drain: every count equals its rows and the model, and no acknowledged like is lost', { timeout: 180_000 }, async (t) => {
  await cluster.verifyExact(t);
  passed++;
});
