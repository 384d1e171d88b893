import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineWorkerStage } from '../../../src/stages/pipeline/pipeline-worker-stage.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';
import { eventually } from '../../helpers/wait.ts';

test('healthz, readyz, metrics and the OpenAPI document are served', async (t) => {
  const { app } = await startEmbedded(t, { pipelineThread: false });
  const api = app.api;
  assert.ok(api);
  assert.equal((await api.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.deepEqual((await api.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
  await api.inject({ method: 'PUT', url: '/v1/posts/m1/likes/u1?wait=applied' });
  const metrics = await api.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /^tally_events_accepted_total 1$/m);
  assert.match(metrics.body, /^tally_changes_applied_total 1$/m);
  assert.match(metrics.body, /^tally_ingest_lag_events \d+$/m);
  const doc = (await api.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
  for (const path of ['/v1/posts/{postId}/likes/{userId}', '/v1/posts/{postId}/likes', '/v1/posts/{postId}/count', '/v1/counts', '/v1/events']) {
    assert.ok(doc.paths[path], `OpenAPI documents ${path}`);
  }
});

test('readyz is 503 with the names of the stages that are not running', async (t) => {
  const { app } = await startEmbedded(t, { pipelineThread: false });
  const api = app.api;
  assert.ok(api);
  // The counter stage stops; the process is then alive but not ready.
  assert.ok(app.stageNames.includes('counter'));
  await app.stopStage('counter');
  const res = await api.inject({ method: 'GET', url: '/readyz' });
  assert.equal(res.statusCode, 503);
  assert.deepEqual(res.json(), { error: { code: 'not_ready', message: 'stages not running: counter' } });
});

test('with the pipeline in a worker thread: its metrics reach /metrics, and readyz names it when it stops', async (t) => {
  const { app } = await startEmbedded(t, { pipelineThread: true });
  const api = app.api;
  assert.ok(api);
  assert.deepEqual(app.stageNames, ['pipeline']);
  assert.deepEqual((await api.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
  const put = await api.inject({ method: 'PUT', url: '/v1/posts/m2/likes/u1?wait=applied' });
  assert.deepEqual(put.json(), { accepted: 1, applied: true });
  assert.deepEqual((await api.inject({ method: 'GET', url: '/v1/posts/m2/count' })).json(), { postId: 'm2', count: 1 });
  await eventually('the worker thread metrics in /metrics', 5000, async () => {
    const body = (await api.inject({ method: 'GET', url: '/metrics' })).body;
    return /^tally_changes_applied_total 1$/m.test(body) && /^tally_events_accepted_total 1$/m.test(body) ? true : undefined;
  });
  // name= keeps only those metrics, the worker thread's as well as this thread's.
  const only = await api.inject({ method: 'GET', url: '/metrics?name=tally_changes_applied_total&name=tally_events_accepted_total&name=no_such_metric' });
  assert.equal(only.statusCode, 200);
  const samples = only.body.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  assert.deepEqual(samples.sort(), ['tally_changes_applied_total 1', 'tally_events_accepted_total 1']);
  const one = await api.inject({ method: 'GET', url: '/metrics?name=tally_events_accepted_total' });
  assert.deepEqual(one.body.split('\n').filter((line) => line !== '' && !line.startsWith('#')), ['tally_events_accepted_total 1']);
  const bad = await api.inject({ method: 'GET', url: '/metrics?name=not%20a%20name' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'invalid_query');
  // Each thread's V8 heap, under its own label (the worker's is not in prom-client's nodejs_heap_*).
  const body = (await api.inject({ method: 'GET', url: '/metrics' })).body;
  for (const thread of ['main', 'pipeline']) {
    const used = Number(new RegExp(`^tally_thread_heap_bytes\\{thread="${thread}",kind="used"\\} (\\d+)$`, 'm').exec(body)?.[1]);
    const total = Number(new RegExp(`^tally_thread_heap_bytes\\{thread="${thread}",kind="total"\\} (\\d+)$`, 'm').exec(body)?.[1]);
    assert.ok(used > 0 && total >= used, `${thread} thread heap: used ${used}, total ${total}`);
  }
  await app.stopStage('pipeline');
  const res = await api.inject({ method: 'GET', url: '/readyz' });
  assert.equal(res.statusCode, 503);
  assert.match(res.json<{ error: { message: string } }>().error.message, /pipeline/);
});

test('a pipeline thread that dies is restarted from the durable positions; nothing accepted is lost', async (t) => {
  const { app } = await startEmbedded(t, { pipelineThread: true });
  const api = app.api;
  assert.ok(api);
  const stage = app.stage('pipeline');
  assert.ok(stage instanceof PipelineWorkerStage);
  for (let i = 0; i < 20; i++) assert.equal((await api.inject({ method: 'PUT', url: `/v1/posts/k1/likes/u${i}` })).statusCode, 202);
  await stage.kill();
  assert.equal((await api.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
  for (let i = 20; i < 40; i++) assert.equal((await api.inject({ method: 'PUT', url: `/v1/posts/k1/likes/u${i}` })).statusCode, 202);
  await eventually('the pipeline thread back', 15_000, async () => ((await api.inject({ method: 'GET', url: '/readyz' })).statusCode === 200 ? true : undefined));
  const last = await api.inject({ method: 'PUT', url: '/v1/posts/k1/likes/u40?wait=applied' });
  assert.deepEqual(last.json(), { accepted: 1, applied: true });
  await eventually('every like counted', 10_000, async () => {
    const count = (await api.inject({ method: 'GET', url: '/v1/posts/k1/count' })).json<{ count: number }>().count;
    return count === 41 ? true : undefined;
  });
});
