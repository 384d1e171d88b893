import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { distributedNamespace, dropDistributedNamespace, serverFlags } from '../helpers/distributed-namespace.ts';
import { latestCounts, openSse } from '../helpers/sse-reader.ts';
import { startStage, stopStage, type StageProcess } from '../helpers/stage-process.ts';

test('distributed: a live stream on api process A (its streams written by a writer process) sees likes written through api process B (Kafka, PostgreSQL, Redis pub/sub)', { timeout: 180_000 }, async (t) => {
  const ns = distributedNamespace();
  const logs = mkdtempSync(join(tmpdir(), 'tally-stream-e2e-'));
  const common = [...serverFlags(ns), '--partitions', '2', '--log-level', 'info', '--reconcile-interval-ms', '0', '--stream-interval-ms', '50'];
  const stages: StageProcess[] = [];
  t.after(async () => {
    for (const stage of stages.reverse()) await stopStage(stage, 'SIGTERM', 15_000);
    await dropDistributedNamespace(ns);
    rmSync(logs, { recursive: true, force: true });
  });
  const launch = async (name: string, args: string[]): Promise<StageProcess> => {
    const stage = await startStage([...args, ...common], join(logs, `${name}.log`));
    stages.push(stage);
    return stage;
  };
  const apiA = await launch('api-a', ['api', '--port', '0', '--stream-writer', 'process']);
  await launch('ingest', ['ingest']);
  await launch('cdc', ['cdc']);
  await launch('counter', ['counter']);
  const apiB = await launch('api-b', ['api', '--port', '0']);
  assert.notEqual(apiA.url, apiB.url);

  const posts = ['da', 'db'];
  const stream = await openSse(`${apiA.url}/v1/stream/counts?posts=${posts.join(',')}`);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  await stream.waitFor((events) => latestCounts(events).size === 2, 20_000);
  assert.deepEqual(Object.fromEntries(latestCounts(stream.events)), { da: 0, db: 0 });

  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${apiB.url}/v1/posts/da/likes/u${i}`, { method: 'PUT' });
    assert.equal(res.status, 202, await res.text());
  }
  const bulk = await fetch(`${apiB.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ op: 'like', postId: 'db', userId: 'x' }, { op: 'like', postId: 'db', userId: 'y' }, { op: 'unlike', postId: 'da', userId: 'u0' }] }),
  });
  assert.equal(bulk.status, 202);
  await stream.waitFor((events) => latestCounts(events).get('da') === 4 && latestCounts(events).get('db') === 2, 60_000);
  // Process B's own streams see the same.
  const onB = await openSse(`${apiB.url}/v1/stream/counts?posts=${posts.join(',')}`);
  t.after(() => onB.close());
  await onB.waitFor((events) => latestCounts(events).get('da') === 4 && latestCounts(events).get('db') === 2, 20_000);
  const metrics = await (await fetch(`${apiA.url}/metrics`)).text();
  assert.match(metrics, /^tally_streams_open 1$/m);
  assert.match(metrics, /^tally_stage_lag_events\{stage="counter"\} \d+$/m);
});
