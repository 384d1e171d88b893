import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../bench/root.ts';

interface Baseline {
  perSec: number | null;
  skipped?: string;
  correct: boolean | null;
}

test('./tally bench runs end to end in a tiny configuration, wrk driving the request-rate phases, and ends with a correct JSON line', { timeout: 120_000 }, async (t) => {
  // scripts/test.sh runs scripts/ensure-wrk.sh first; without wrk the bench would fall back to its Node client, which this test refuses.
  execFileSync('bash', [join(ROOT, 'scripts/ensure-wrk.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'report.html');
  const args = [
    'bench', '--events', '3000', '--posts', '200', '--batch', '100', '--bulk-concurrency', '2', '--concurrency', '16', '--duration', '1', '--baseline-events', '2000',
    '--settle-timeout', '20', '--streams', '50', '--stream-pairs', '1', '--stream-window', '1', '--json', '--report', report,
  ];
  const { stdout, code, stderr } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    execFile(join(ROOT, 'tally'), args, { cwd: ROOT, timeout: 110_000, maxBuffer: 16 * 2 ** 20 }, (error, out, err) => {
      resolve({ stdout: out, stderr: err, code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1 });
    });
  });
  assert.equal(code, 0, `exit code ${code}; stderr:\n${stderr.slice(-3000)}`);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  const result = JSON.parse(last) as {
    correct: boolean;
    loadGenerator: string;
    phases: { name: string; clientCores: number }[];
    paced: { share: number; ratePerSec: number; p50Ms: number; p99Ms: number; samples: number }[];
    liveStreams: { streams: number; samples: number; missed: number; p99Ms: number; pairs: unknown[]; readsRatioMedian: number; writesRatioMedian: number } | null;
    bulk: { appliedPerSec: number; acceptedPerSec: number };
    single: { reqPerSec: number; sent: number; acknowledged: number };
    freshness: { p50Ms: number; p99Ms: number; samples: number };
    reads: { countsPerSec: number; p99Ms: number; withViewer: { countsPerSec: number } };
    baselines: { redisLua: Baseline; postgresNaive: Baseline; helloWorld: Baseline & { reqPerSec: number | null } };
    ratios: Record<string, number | null>;
  };
  assert.equal(result.correct, true);
  assert.equal(result.loadGenerator, 'wrk');
  assert.ok(result.bulk.appliedPerSec > 0 && result.bulk.acceptedPerSec > 0);
  assert.ok(result.single.reqPerSec > 0 && result.single.sent >= result.single.acknowledged && result.single.acknowledged > 0);
  assert.ok(result.reads.withViewer.countsPerSec > 0);
  // wrk's CPU counts as the load generator's in its phases.
  assert.ok((result.phases.find((p) => p.name === 'reads')?.clientCores ?? 0) > 0);
  assert.deepEqual(result.paced.map((p) => p.share), [0.5, 0.8]);
  for (const p of result.paced) assert.ok(p.ratePerSec > 0 && p.samples > 0 && p.p99Ms >= p.p50Ms && p.p50Ms > 0, JSON.stringify(p));
  const streams = result.liveStreams;
  assert.ok(streams !== null && streams.streams === 50 && streams.samples > 0 && streams.missed === 0 && streams.pairs.length === 1, JSON.stringify(streams));
  assert.ok(streams.readsRatioMedian > 0 && streams.writesRatioMedian > 0);
  assert.ok(result.freshness.samples > 0 && result.freshness.p50Ms > 0 && result.freshness.p99Ms >= result.freshness.p50Ms);
  assert.ok(result.reads.countsPerSec > 0 && result.reads.p99Ms > 0);
  assert.ok((result.baselines.helloWorld.reqPerSec ?? 0) > 0);
  for (const name of ['redisLua', 'postgresNaive'] as const) {
    const b = result.baselines[name];
    // ./tally test starts Redis and PostgreSQL first: a skipped baseline is a failure here.
    assert.ok(b.skipped === undefined && (b.perSec ?? 0) > 0 && b.correct === true, `${name}: ${JSON.stringify(b)}`);
  }
  assert.ok((result.ratios.singleVsHelloWorld ?? 0) > 0);
  assert.ok(existsSync(report));
  assert.match(readFileSync(report, 'utf8'), /<svg /);
});

test('./tally bench --load-generator node (the fallback when wrk cannot be installed) runs the same phases through the Node client and says so', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-smoke-node-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    'bench', '--events', '2000', '--posts', '100', '--batch', '100', '--bulk-concurrency', '2', '--concurrency', '8', '--duration', '1', '--baselines', 'hello',
    '--settle-timeout', '20', '--paced', '0.5', '--streams', '20', '--stream-pairs', '1', '--stream-window', '1', '--load-generator', 'node', '--json', '--report', join(dir, 'report.html'),
  ];
  const { stdout, code, stderr } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    execFile(join(ROOT, 'tally'), args, { cwd: ROOT, timeout: 110_000, maxBuffer: 16 * 2 ** 20 }, (error, out, err) => {
      resolve({ stdout: out, stderr: err, code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1 });
    });
  });
  assert.equal(code, 0, `exit code ${code}; stderr:\n${stderr.slice(-3000)}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
    correct: boolean;
    loadGenerator: string;
    notes: string[];
    single: { reqPerSec: number; sent: number; acknowledged: number };
    paced: unknown[];
    liveStreams: { samples: number } | null;
    baselines: { helloWorld: { reqPerSec: number | null } };
  };
  assert.equal(result.correct, true);
  assert.equal(result.loadGenerator, 'node');
  assert.ok(result.notes.some((n) => n.includes('the Node client')));
  // The Node client waits for every answer: nothing is left in flight.
  assert.ok(result.single.reqPerSec > 0 && result.single.sent === result.single.acknowledged);
  assert.equal(result.paced.length, 1);
  assert.ok((result.liveStreams?.samples ?? 0) > 0);
  assert.ok((result.baselines.helloWorld.reqPerSec ?? 0) > 0);
});
