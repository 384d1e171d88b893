/**
 * Reads while the shared cache is down (issue 11): a distributed Tally on the shared Kafka and
 * PostgreSQL but a Redis of its own (started here, on a free port), which is then killed -9. Counts
 * keep coming from the counter store, exact, and the reads around the cache are counted in
 * /metrics; writes still take 202 and are counted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { distributedNamespace, dropDistributedNamespace, SERVERS } from '../helpers/distributed-namespace.ts';
import { startServer } from '../helpers/server-process.ts';
import { eventually } from '../helpers/wait.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

test('Redis killed -9: counts are served from the counter store, exact, and writes are still counted', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-redis-down-'));
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const redisExited = new Promise((resolve) => redis.once('exit', resolve));
  const ns = distributedNamespace();
  t.after(async () => {
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await eventually('the private Redis answers', 10_000, async () => {
    const probe = await fetch(`http://127.0.0.1:${port}`).catch((error: unknown) => error);
    // Redis answers an HTTP request by closing the connection; a refused connection means not yet.
    return String((probe as { cause?: { code?: string } }).cause?.code) === 'ECONNREFUSED' ? undefined : true;
  }, 100);
  const server = await startServer(
    ['serve', '--distributed', '--port', '0', '--namespace', ns, '--kafka-brokers', SERVERS.brokers, '--postgres-url', SERVERS.postgresUrl, '--redis-url', `redis://127.0.0.1:${port}`, '--log-level', 'warn', '--reconcile-interval-ms', '0'],
    {},
    60_000,
  );
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await dropDistributedNamespace(ns);
  });
  const like = async (post: string, user: string): Promise<number> => (await fetch(`${server.url}/v1/posts/${post}/likes/${user}?wait=applied`, { method: 'PUT' })).status;
  for (const user of ['u1', 'u2', 'u3']) assert.equal(await like('rd1', user), 202);
  const count = async (post: string): Promise<{ status: number; count: number | undefined }> => {
    const res = await fetch(`${server.url}/v1/posts/${post}/count`);
    return { status: res.status, count: res.ok ? ((await res.json()) as { count: number }).count : undefined };
  };
  assert.deepEqual(await count('rd1'), { status: 200, count: 3 });

  redis.kill('SIGKILL');
  await redisExited;
  assert.deepEqual(await count('rd1'), { status: 200, count: 3 }, 'served by the counter store');
  assert.equal(await like('rd1', 'u4'), 202, 'writes need only Kafka, and ?wait=applied only the counter store');
  await eventually('the new like is counted without Redis', 30_000, async () => ((await count('rd1')).count === 4 ? true : undefined), 200);
  assert.deepEqual(await count('rd-never'), { status: 200, count: 0 });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const degraded = Number(/tally_reads_degraded_total\{backend="cache"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.ok(degraded >= 3, `reads around the cache in /metrics: ${degraded}`);
});
