import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { likeEventsTopic } from '../../src/adapters/kafka/kafka-topics.ts';
import { logKeyOf } from '../../src/domain/log-key.ts';
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
  const more: Event[] = [
    { op: 'unlike', postId: 'pa', userId: 'u2' },
    { op: 'like', postId: 'pa', userId: 'u1' },
    { op: 'unlike', postId: 'pb', userId: 'nobody' },
  ];
  await write(server.url, more);
  sent.push(...more);
  const after = Date.now();
  const expected = new Map([
    ['pa', 4],
    ['pb', 3],
  ]);

  await t.test('kafka-console-consumer prints the documented like events, keyed postId#k (k = fnv1a(userId) mod --hot-shards)', async () => {
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
        String(sent.length),
        '--timeout-ms',
        '20000',
        '--property',
        'print.key=true',
      ],
      { cwd: REPO_ROOT, timeout: 60_000 },
    );
    const lines = stdout.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, sent.length, `one line per event sent:\n${stdout}`);
    const read = lines.map((line) => {
      const tab = line.indexOf('\t');
      assert.ok(tab > 0, `"key<TAB>value": ${line}`);
      const key = line.slice(0, tab);
      const value = JSON.parse(line.slice(tab + 1)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(value).sort(), ['at', 'op', 'postId', 'userId'], `documented fields only: ${line}`);
      assert.equal(key, logKeyOf(value.postId as string, value.userId as string, 4), 'the key is postId#k');
      assert.match(key, /^p[ab]#[0-3]$/);
      assert.equal(typeof value.at, 'number');
      assert.ok((value.at as number) >= before && (value.at as number) <= after, `at is when the api accepted it: ${line}`);
      return { op: value.op, postId: value.postId, userId: value.userId } as Event;
    });
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
