import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, startServer } from '../helpers/server-process.ts';

const run = promisify(execFile);

test('serve refuses 0.0.0.0 without auth, saying why and what to do; --allow-unauthenticated starts it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bind-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['src/cli/main.ts', 'serve', '--host', '0.0.0.0', '--port', '0', '--data', dir, '--log-level', 'warn'];
  const refused = await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 30_000 }).then(
    () => undefined,
    (error: { code?: number; stderr?: string }) => error,
  );
  assert.ok(refused !== undefined, 'the process must not start');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr ?? '', /refusing to listen on 0\.0\.0\.0 with --auth none/);
  assert.match(refused.stderr ?? '', /--auth jwt/);
  assert.match(refused.stderr ?? '', /--allow-unauthenticated/);

  const server = await startServer(args.slice(1).concat(['--allow-unauthenticated']));
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  const port = new URL(server.url).port;
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(res.status, 200);
});

test('serve on 127.0.0.1 needs no setup', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bind-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServer(['serve', '--port', '0', '--data', dir, '--log-level', 'warn']);
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  const res = await fetch(`${server.url}/v1/posts/p/likes/u?wait=applied`, { method: 'PUT' });
  assert.equal(res.status, 202);
});
