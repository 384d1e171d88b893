import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, startServer } from '../helpers/server-process.ts';

const run = promisify(execFile);

/**
 * schemathesis (PyPI, installed by scripts/schemathesis.sh into .tools/ when missing) against
 * /docs/json of a real `./tally serve`: every check class, bounded in examples and time. The
 * exceptions are in test/schemathesis/schemathesis.toml, each with its reason.
 */
test('schemathesis: every check passes against /docs/json (documented exceptions aside)', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-st-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServer(['serve', '--port', '0', '--data', dir, '--log-level', 'error', '--wait-applied-ms', '1000']);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  const args = [
    '--config-file',
    'test/schemathesis/schemathesis.toml',
    'run',
    `${server.url}/docs/json`,
    '--checks',
    'all',
    '--exclude-checks',
    'use_after_free',
    '--max-examples',
    process.env.TALLY_SCHEMATHESIS_EXAMPLES ?? '60',
    '--workers',
    '1',
    '--request-timeout',
    '5',
    '--seed',
    '20261129',
    '--no-color',
  ];
  const result = await run('bash', ['scripts/schemathesis.sh', ...args], { cwd: REPO_ROOT, timeout: 280_000, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: `${error.stdout ?? ''}\n${error.stderr ?? ''}` }),
  );
  const summary = result.stdout.slice(result.stdout.lastIndexOf('SUMMARY'));
  t.diagnostic(summary.split('\n').filter((line) => /generated|passed|failures|Test cases|in \d/.test(line)).join(' | '));
  assert.equal(result.code, 0, `schemathesis found failures:\n${result.stdout.slice(-12_000)}`);
  const generated = Number(/(\d+) generated/.exec(summary)?.[1] ?? 0);
  assert.ok(generated >= 300, `schemathesis generated ${generated} test cases`);
});
