import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { distributedNamespace, dropDistributedNamespace, serverFlags } from '../helpers/distributed-namespace.ts';
import { startStage, stopStage, type StageProcess } from '../helpers/stage-process.ts';

/**
 * Two `./tally api` processes of one namespace share their token buckets in Redis: a burst of 5
 * per user (and 8 per IP) holds across both, however the requests are spread over them.
 */
test('rate limits hold across 2 api processes in distributed mode (buckets in Redis)', { timeout: 180_000 }, async (t) => {
  const ns = distributedNamespace();
  const dir = mkdtempSync(join(tmpdir(), 'tally-rl-'));
  const apis: StageProcess[] = [];
  t.after(async () => {
    for (const api of apis) await stopStage(api, 'SIGTERM', 15_000);
    await dropDistributedNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });
  const args = ['api', ...serverFlags(ns), '--port', '0', '--log-level', 'warn', '--rate-limit-user', '0.01:5', '--rate-limit-ip', '0.01:30'];
  // The first creates the topics and the schema; the second then starts against them.
  apis.push(await startStage(args, join(dir, 'api-1.log')));
  apis.push(await startStage(args, join(dir, 'api-2.log')));
  const [a, b] = apis.map((api) => api.url);
  assert.ok(a !== undefined && b !== undefined);

  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${i % 2 === 0 ? a : b}/v1/posts/p${i}/likes/spammer`, { method: 'PUT' });
    statuses.push(res.status);
    if (res.status === 429) assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'rate_limited');
    else await res.arrayBuffer();
  }
  assert.equal(statuses.filter((s) => s === 202).length, 5, `exactly the burst of 5 passes over both processes: ${statuses.join(',')}`);
  assert.equal(statuses.filter((s) => s === 429).length, 7);

  // Per IP: 30 tokens over both processes, 12 already spent above.
  const reads: number[] = [];
  for (let i = 0; i < 24; i++) {
    const res = await fetch(`${i % 2 === 0 ? b : a}/v1/posts/p${i}/count`);
    reads.push(res.status);
    await res.arrayBuffer();
  }
  assert.equal(reads.filter((s) => s === 200).length, 18, `18 of the IP's 30 tokens were left: ${reads.join(',')}`);
});
