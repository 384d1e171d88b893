/**
 * Static group membership (`--kafka-instance-id`): a member killed with SIGKILL and started again
 * under the same id takes its partitions back at once, while a dynamic one waits until the broker
 * drops the dead member (the session timeout, 30 s here); and two live processes with one id say
 * so in their log. Each member is a process of its own (test/adapters/kafka/group-member-child.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { ensureTopic, likeEventsTopic, namespacedGroup } from '../../../src/adapters/kafka/kafka-topics.ts';
import { eventually } from '../../helpers/wait.ts';
import { BROKERS, kafkaNamespace } from './kafka-test-kit.ts';

const SESSION_TIMEOUT_MS = 30_000;

interface Member {
  readonly child: ChildProcess;
  /** Every `partitions [..]` line so far, newest last. */
  readonly seen: number[][];
  stderr: string;
}

function member(t: TestContext, topic: string, group: string, instanceId: string): Member {
  const child = spawn(process.execPath, [new URL('./group-member-child.ts', import.meta.url).pathname, BROKERS, topic, group, instanceId, String(SESSION_TIMEOUT_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m: Member = { child, seen: [], stderr: '' };
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('partitions ')) m.seen.push(JSON.parse(line.slice('partitions '.length)) as number[]);
  });
  child.stderr?.on('data', (chunk: Buffer) => (m.stderr += chunk.toString()));
  t.after(() => void child.kill('SIGKILL'));
  return m;
}

const owned = (m: Member): number[] => m.seen.at(-1) ?? [];

/** A fresh 4-partition topic and a group of `role` in which a first member `instanceId` owns every partition. */
async function firstMember(t: TestContext, role: string, instanceId: string): Promise<{ topic: string; group: string; first: Member }> {
  const namespace = kafkaNamespace(t);
  const topic = likeEventsTopic(namespace);
  const group = namespacedGroup(namespace, role);
  await ensureTopic({ brokers: BROKERS }, topic, 4);
  const first = member(t, topic, group, instanceId);
  await eventually('the first member owning all 4 partitions', 40_000, async () => (owned(first).length === 4 ? true : undefined), 50);
  return { topic, group, first };
}

async function split(label: string, a: Member, b: Member): Promise<void> {
  await eventually(`${label}: two members owning 2 of the 4 partitions each`, 40_000, async () => (owned(a).length === 2 && owned(b).length === 2 && new Set([...owned(a), ...owned(b)]).size === 4 ? true : undefined), 50);
}

async function kill(m: Member): Promise<void> {
  const exited = new Promise((resolve) => m.child.once('exit', resolve));
  m.child.kill('SIGKILL');
  await exited;
}

test('static membership: a member killed with SIGKILL and restarted under its id owns its partitions again at once, and the other member keeps its own', { timeout: 120_000 }, async (t) => {
  const { topic, group, first: a } = await firstMember(t, 'ingest', 'ingest-a');
  const b = member(t, topic, group, 'ingest-b');
  await split('after the second joined', a, b);
  const bOwned = owned(b);
  const aChanges = a.seen.length;

  await kill(b);
  const restarted = Date.now();
  const again = member(t, topic, group, 'ingest-b');
  await eventually("the restarted member owning the killed one's partitions", 40_000, async () => (owned(again).length > 0 ? true : undefined), 50);
  const ms = Date.now() - restarted;
  assert.deepEqual(owned(again), bOwned, 'the same partitions, as the group did not rebalance');
  // A dynamic member gets partitions only once the broker has dropped the dead one (30 s here).
  assert.ok(ms < SESSION_TIMEOUT_MS / 2, `the restarted member owned its partitions after ${ms} ms; without static membership it waits for the ${SESSION_TIMEOUT_MS} ms session timeout`);
  assert.equal(a.seen.length, aChanges, `the other member's partitions never changed (it saw ${JSON.stringify(a.seen.slice(aChanges))})`);
  t.diagnostic(`restart with the same --kafka-instance-id: partitions back ${ms} ms after the new process started`);
});

test('static membership: two live processes with one --kafka-instance-id say so in their log, naming the option', { timeout: 120_000 }, async (t) => {
  const { topic, group, first } = await firstMember(t, 'counter', 'twin');
  const second = member(t, topic, group, 'twin');
  const said = await eventually('a takeover warning from either process', 40_000, async () => [first, second].map((m) => m.stderr).find((log) => log.includes('took its partitions')), 100);
  assert.match(said, /another process joined group \S+ with this process's --kafka-instance-id twin/);
  assert.match(said, /give each process its own --kafka-instance-id \(TALLY_KAFKA_INSTANCE_ID\)/);
});
