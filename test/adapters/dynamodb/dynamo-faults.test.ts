import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { dropDynamoTables } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import { distributedNamespace, dropDistributedNamespace, serverFlags } from '../../helpers/distributed-namespace.ts';
import { REPO_ROOT, startServer } from '../../helpers/server-process.ts';
import { startTcpProxy } from '../../helpers/tcp-proxy.ts';
import { eventually } from '../../helpers/wait.ts';
import { DYNAMODB_ENDPOINT } from './dynamo-fixture.ts';

const run = promisify(execFile);

/** Runs `tally <args>` to its end; resolves with its exit code and output. */
async function tally(args: readonly string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['src/cli/main.ts', ...args], { cwd: REPO_ROOT, timeout: timeoutMs });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const dynamoPort = Number(new URL(DYNAMODB_ENDPOINT).port || 8000);

test('start-up errors name the option, the endpoint and what to do: unreachable endpoint, missing tables, wrong key schema', async (t) => {
  const ns = distributedNamespace();
  const settings = { endpoint: DYNAMODB_ENDPOINT, namespace: ns };
  const client = createDynamoClient(settings);
  t.after(async () => {
    await dropDynamoTables(client, settings);
    client.destroy();
  });

  const unreachable = await tally(['ingest', '--store', 'dynamodb', '--namespace', ns, '--dynamodb-endpoint', 'http://127.0.0.1:9', '--log-level', 'warn']);
  assert.notEqual(unreachable.code, 0);
  assert.match(unreachable.out, /--dynamodb-endpoint http:\/\/127\.0\.0\.1:9 \(TALLY_DYNAMODB_ENDPOINT\) is unreachable/);
  assert.match(unreachable.out, /\.\/tally services up dynamodb/);

  const missing = await tally(['counter', '--store', 'dynamodb', '--namespace', ns, '--dynamodb-endpoint', DYNAMODB_ENDPOINT, '--dynamodb-create-tables', 'false', '--log-level', 'warn']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.out, new RegExp(`table ${ns}-likes does not exist at ${DYNAMODB_ENDPOINT.replaceAll('.', '\\.')}; run \\./tally dynamodb init`));

  // Someone else's table under Tally's name: keyed by "id" only.
  await client.send(new CreateTableCommand({ TableName: `${ns}-likes`, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  const wrong = await tally(['dynamodb', 'init', '--namespace', ns, '--dynamodb-endpoint', DYNAMODB_ENDPOINT]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.out, new RegExp(`table ${ns}-likes .* has key schema \\(id HASH\\), Tally needs \\(pk HASH, sk RANGE\\)`));
  assert.match(wrong.out, /pick another --namespace, or delete the table/);
});

test('DynamoDB unreachable while running: writes still get 202 (they only need Kafka), the stages retry and catch up exactly', async (t) => {
  const ns = distributedNamespace();
  const proxy = await startTcpProxy(dynamoPort);
  const endpoint = `http://127.0.0.1:${proxy.port}`;
  const server = await startServer(
    ['serve', '--distributed', '--store', 'dynamodb', '--dynamodb-endpoint', endpoint, ...serverFlags(ns), '--port', '0', '--partitions', '2', '--log-level', 'error', '--reconcile-interval-ms', '0', '--wait-applied-ms', '20000'],
    {},
    90_000,
  );
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await proxy.close();
    await dropDistributedNamespace(ns, 'dynamodb');
  });
  const put = async (postId: string, userId: string, wait = false): Promise<number> =>
    (await fetch(`${server.url}/v1/posts/${postId}/likes/${userId}${wait ? '?wait=applied' : ''}`, { method: 'PUT' })).status;
  const count = async (postId: string): Promise<{ status: number; count: number | undefined }> => {
    const res = await fetch(`${server.url}/v1/posts/${postId}/count`);
    const body = (await res.json()) as { count?: number; error?: { code: string } };
    return { status: res.status, count: body.count };
  };

  assert.equal(await put('pa', 'u0', true), 202);
  await proxy.cut();
  for (let i = 1; i <= 20; i++) assert.equal(await put(i % 2 === 0 ? 'pa' : 'pb', `u${i}`), 202, 'a write needs only Kafka');
  const during = await count('pa');
  assert.ok(during.status === 200 || during.status === 503, `a read is served from the cache or answers 503, got ${during.status}`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await proxy.restore();
  await eventually('counts catch up after DynamoDB is back', 60_000, async () => {
    const [a, b] = await Promise.all([count('pa'), count('pb')]);
    return a.count === 11 && b.count === 10 ? true : undefined;
  }, 250);
  assert.equal(await put('pc', 'u1', true), 202);
  assert.equal((await count('pc')).count, 1);
});
