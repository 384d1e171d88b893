import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

test('./tally bench runs end to end in a tiny configuration and ends with a correct JSON line', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'report.html');
  const args = ['bench', '--events', '3000', '--posts', '200', '--batch', '100', '--bulk-concurrency', '2', '--concurrency', '16', '--duration', '1', '--baseline-events', '2000', '--settle-timeout', '20', '--json', '--report', report];
  const { stdout, code, stderr } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    execFile(join(ROOT, 'tally'), args, { cwd: ROOT, timeout: 55_000, maxBuffer: 16 * 2 ** 20 }, (error, out, err) => {
      resolve({ stdout: out, stderr: err, code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1 });
    });
  });
  assert.equal(code, 0, `exit code ${code}; stderr:\n${stderr.slice(-3000)}`);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  const result = JSON.parse(last) as {
    correct: boolean;
    bulk: { appliedPerSec: number; acceptedPerSec: number };
    single: { reqPerSec: number };
    freshness: { p50Ms: number; p99Ms: number; samples: number };
    reads: { countsPerSec: number; p99Ms: number };
    baselines: { redisLua: Baseline; postgresNaive: Baseline; helloWorld: Baseline & { reqPerSec: number | null } };
    ratios: Record<string, number | null>;
  };
  assert.equal(result.correct, true);
  assert.ok(result.bulk.appliedPerSec > 0 && result.bulk.acceptedPerSec > 0);
  assert.ok(result.single.reqPerSec > 0);
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
