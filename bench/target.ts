import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './root.ts';

/** The Tally under test. */
export interface Target {
  readonly kind: 'embedded' | 'distributed' | 'url';
  readonly origin: string;
  readonly description: string;
  /** Process id of the server the bench started. */
  readonly pid: number | undefined;
  /** performance.now() when the bench spawned the server (a CPU profile's time 0), if it did. */
  readonly spawnedAt: number | undefined;
  /** Prefix of every post id the run writes (empty for a fresh server). */
  readonly idPrefix: string;
  stop(): Promise<void>;
}

/** A target that could not start; the message says why. */
export class TargetUnavailable extends Error {}

const START_TIMEOUT_MS = 120_000;

/** Starts (or reaches) the target named by `--target`. */
export async function startTarget(target: string, serveArgs: readonly string[], profileDir: string | undefined): Promise<Target> {
  if (target === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'tally-bench-'));
    try {
      return await startServer('embedded', ['--data', dir, ...serveArgs], profileDir, () => rmSync(dir, { recursive: true, force: true }), `embedded, data in ${dir}`);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  if (target === 'distributed') {
    const namespace = `bench_${randomBytes(4).toString('hex')}`;
    try {
      return await startServer('distributed', ['--distributed', '--namespace', namespace, ...serveArgs], profileDir, () => dropNamespace(namespace, serveArgs), `distributed, namespace ${namespace}`);
    } catch (error) {
      throw new TargetUnavailable(`distributed target not available: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const answer = await fetch(`${target}/healthz`).catch((error: unknown) => {
    throw new TargetUnavailable(`${target} is not reachable: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (!answer.ok) throw new TargetUnavailable(`${target}/healthz answered ${answer.status}`);
  return {
    kind: 'url',
    origin: target,
    description: 'running Tally',
    pid: undefined,
    spawnedAt: undefined,
    idPrefix: `b${randomBytes(3).toString('hex')}_`,
    stop: async () => undefined,
  };
}

async function startServer(
  kind: 'embedded' | 'distributed',
  args: readonly string[],
  profileDir: string | undefined,
  cleanup: () => void | Promise<void>,
  description: string,
): Promise<Target> {
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--log-level', 'warn', '--reconcile-interval-ms', '0', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const origin = await new Promise<string>((resolvePromise, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" line within ${START_TIMEOUT_MS / 1000} s; stderr: ${stderr.trim().slice(-1500)}`));
    }, START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolvePromise(match[1] as string);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${signal ?? `code ${code}`}) before listening: ${stderr.trim().slice(-1500) || '(no output)'}`));
    });
  });
  child.stdout.resume();
  return { kind, origin, description, pid: child.pid, spawnedAt, idPrefix: '', stop: () => stopChild(child, cleanup) };
}

/** Drops the topics, tables and keys a distributed run created, with `./tally namespace drop` and the run's server options. */
async function dropNamespace(namespace: string, serveArgs: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'namespace', 'drop', namespace, ...serveArgs], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolvePromise) => child.once('exit', resolvePromise));
  if (code !== 0) process.stderr.write(`tally bench: cleaning up namespace ${namespace} failed: ${stderr.trim()}\n`);
}

async function stopChild(child: ChildProcess, cleanup: () => void | Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  await cleanup();
}
