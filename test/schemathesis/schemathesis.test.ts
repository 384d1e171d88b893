import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, startServer } from '../helpers/server-process.ts';

const run = promisify(execFile);

/**
 * Runs schemathesis (PyPI, installed by scripts/schemathesis.sh into .tools/ when missing) against
 * /docs/json of a real `./tally serve <serveArgs>`: every check class, bounded in examples. The
 * exceptions are in test/schemathesis/schemathesis.toml, each with its reason.
 */
async function scan(t: TestContext, serveArgs: readonly string[], examples: number, extra: readonly string[] = []): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-st-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServer(['serve', '--port', '0', '--data', join(dir, 'data'), '--log-level', 'error', '--wait-applied-ms', '1000', ...serveArgs.map((a) => a.replace('$DIR', dir))]);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  const args = ['--config-file', 'test/schemathesis/schemathesis.toml', 'run', `${server.url}/docs/json`, '--checks', 'all', '--exclude-checks', 'use_after_free'];
  args.push('--max-examples', process.env.TALLY_SCHEMATHESIS_EXAMPLES ?? String(examples), '--workers', '1', '--request-timeout', '5', '--seed', '20261129', '--no-color', ...extra);
  const result = await run('bash', ['scripts/schemathesis.sh', ...args], { cwd: REPO_ROOT, timeout: 200_000, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: `${error.stdout ?? ''}\n${error.stderr ?? ''}` }),
  );
  const summary = result.stdout.slice(result.stdout.lastIndexOf('SUMMARY'));
  t.diagnostic(summary.split('\n').filter((line) => /generated|in \d/.test(line)).join(' | '));
  assert.equal(result.code, 0, `schemathesis found failures:\n${result.stdout.slice(-12_000)}`);
  const generated = Number(/(\d+) generated/.exec(summary)?.[1] ?? 0);
  assert.ok(generated >= 200, `schemathesis generated ${generated} test cases`);
}

test('schemathesis, --auth none: every check passes against /docs/json (documented exceptions aside)', { timeout: 240_000 }, async (t) => {
  await scan(t, [], 40);
});

test('schemathesis, --auth jwt with private likers and a service token: every check passes', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-st-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'schemathesis-secret-of-at-least-32-bytes-0123456789\n');
  const jwt = ['--jwt-secret-file', secretFile, '--jwt-issuer', 'https://id.test', '--jwt-audience', 'tally'];
  const { stdout } = await run(process.execPath, ['src/cli/main.ts', 'token', '--sub', 'scanner', '--scope', 'likes:write likers:read', ...jwt], { cwd: REPO_ROOT });
  await scan(t, ['--auth', 'jwt', '--likers', 'service', ...jwt], 25, ['-H', `Authorization: Bearer ${stdout.trim()}`]);
});
