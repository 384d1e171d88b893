import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { likeEventsTopic } from '../../src/adapters/kafka/kafka-topics.ts';
import { logPartitionOf } from '../../src/domain/log-key.ts';
import { distributedNamespace, dropDistributedNamespace, SERVERS, serverFlags } from '../helpers/distributed-namespace.ts';
import { REPO_ROOT, startServer } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';

const run = promisify(execFile);

type Event = { op: 'like' | 'unlike'; postId: string; userId: string };

async function write(url: string, events: Event[]): Promise<void> {
  const res = await fetch(`${url}/v1/events?wait=applied`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  const body = await res.text();
  assert.equal(res.status, 202, `POST /v1/events answered ${res.status}: ${body}`);
  assert.deepEqual(JSON.parse(body), { accepted: events.length, applied: true });
}

async function apiCount(url: string, postId: string): Promise<number> {
  const res = await fetch(`${url}/v1/posts/${postId}/count`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { count: number }).count;
}

test('outside clients read what distributed Tally wrote: Kafka console consumer, psql, redis-cli', async (t) => {
  const ns = distributedNamespace();
  const server = await startServer(['serve', '--distributed', ...serverFlags(ns), '--port', '0', '--partitions', '4', '--hot-shards', '4', '--log-level', 'warn', '--reconcile-interval-ms', '0']);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await dropDistributedNamespace(ns);
  });

  const before = Date.now();
  const sent: Event[] = [
    ...['u1', 'u2', 'u3', 'u4', 'u5'].map((userId): Event => ({ op: 'like', postId: 'pa', userId })),
    ...['u1', 'u2', 'u3'].map((userId): Event => ({ op: 'like', postId: 'pb', userId })),
  ];
  await write(server.url, sent);
  const partitionsOf = (events: Event[]): number => new Set(events.map((e) => logPartitionOf(e.postId, e.userId, 4, 4))).size;
  // Each write's events share one record per partition (bundles, --kafka-record-events).
  let records = partitionsOf(sent);
  const more: Event[] = [
    { op: 'unlike', postId: 'pa', userId: 'u2' },
    { op: 'like', postId: 'pa', userId: 'u1' },
    { op: 'unlike', postId: 'pb', userId: 'nobody' },
  ];
  await write(server.url, more);
  records += partitionsOf(more);
  sent.push(...more);
  const after = Date.now();
  const expected = new Map([
    ['pa', 4],
    ['pb', 3],
  ]);

  await t.test('kafka-console-consumer prints the documented like events: unkeyed records of JSON arrays, each event in partition (fnv1a(postId) + k) mod partitions', async () => {
    const { stdout } = await run(
      './tally',
      [
        'services',
        'kafka-console-consumer',
        '--bootstrap-server',
        SERVERS.brokers,
        '--topic',
        likeEventsTopic(ns),
        '--group',
        `${ns}.console`,
        '--from-beginning',
        '--max-messages',
        String(records),
        '--timeout-ms',
        '20000',
        '--property',
        'print.key=true',
        '--property',
        'print.partition=true',
      ],
      { cwd: REPO_ROOT, timeout: 60_000 },
    );
    const lines = stdout.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, records, `one line per record (a write's events of one partition):\n${stdout}`);
    const read = lines.flatMap((line) => {
      const [partition, key, value] = line.split('\t') as [string, string, string];
      assert.match(partition, /^Partition:\d+$/, `"partition<TAB>key<TAB>value": ${line}`);
      assert.equal(key, 'null', 'a bundle has no key');
      const events = JSON.parse(value) as Record<string, unknown>[];
      assert.ok(Array.isArray(events), `a JSON array: ${line}`);
      return events.map((event) => {
        assert.deepEqual(Object.keys(event).sort(), ['at', 'op', 'postId', 'userId'], `documented fields only: ${line}`);
        assert.equal(Number(partition.slice('Partition:'.length)), logPartitionOf(event.postId as string, event.userId as string, 4, 4), 'in the partition of its log key postId#k');
        assert.equal(typeof event.at, 'number');
        assert.ok((event.at as number) >= before && (event.at as number) <= after, `at is when the api accepted it: ${line}`);
        return { op: event.op, postId: event.postId, userId: event.userId } as Event;
      });
    });
    assert.equal(read.length, sent.length, 'every event once');
    // Partitions interleave, but each (post, user) pair's events are in one partition, in the order sent.
    for (const { postId, userId } of sent) {
      assert.deepEqual(
        read.filter((e) => e.postId === postId && e.userId === userId),
        sent.filter((e) => e.postId === postId && e.userId === userId),
        `events of ${postId}/${userId}, in order`,
      );
    }
  });

  await t.test('psql counts the likes rows and reads the counts table', async () => {
    for (const [postId, count] of expected) {
      const rows = await run('psql', [SERVERS.postgresUrl, '-At', '-c', `select count(*) from ${ns}.likes where post_id='${postId}'`]);
      assert.equal(rows.stdout.trim(), String(count), `rows of ${postId}`);
      const counts = await run('psql', [SERVERS.postgresUrl, '-At', '-c', `select count from ${ns}.counts where post_id='${postId}'`]);
      assert.equal(counts.stdout.trim(), String(count), `counts.count of ${postId}`);
      assert.equal(await apiCount(server.url, postId), count, `API count of ${postId}`);
    }
    const users = await run('psql', [SERVERS.postgresUrl, '-At', '-c', `select user_id from ${ns}.likes where post_id='pa' order by user_id`]);
    assert.deepEqual(users.stdout.trim().split('\n'), ['u1', 'u3', 'u4', 'u5']);
  });

  await t.test('redis-cli GET reads version:count, the version of the counts row', async () => {
    for (const [postId, count] of expected) {
      const { stdout } = await run('psql', [SERVERS.postgresUrl, '-At', '-c', `select version from ${ns}.counts where post_id='${postId}'`]);
      const version = stdout.trim();
      // The counter writes the cache just after its transaction, so it may trail ?wait=applied a little.
      const cached = await eventually(`redis-cli GET ${ns}:count:${postId}`, 10_000, async () => {
        const got = (await run('redis-cli', ['-u', SERVERS.redisUrl, 'GET', `${ns}:count:${postId}`])).stdout.trim();
        return got === `${version}:${count}` ? got : undefined;
      }, 100).catch(async (error: unknown) => {
        const got = (await run('redis-cli', ['-u', SERVERS.redisUrl, 'GET', `${ns}:count:${postId}`])).stdout.trim();
        throw new Error(`${String(error)}; redis-cli printed "${got}", expected "${version}:${count}"`);
      });
      assert.match(cached, /^\d+:\d+$/);
    }
  });
});
