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
  /** Ingest and counter processes of their own (`--ingest-procs`, `--counter-procs`); empty otherwise. */
  readonly stages: readonly StageTarget[];
  stop(): Promise<void>;
}

/** A stage process of a scaled-out distributed target, with the URL of its `/metrics`. */
export interface StageTarget {
  readonly kind: 'ingest' | 'counter' | 'cdc';
  readonly metricsUrl: string;
  readonly pid: number | undefined;
}

/** Stage processes of their own for a distributed target (0 and 0: one `serve` process). */
export interface ScaleOut {
  readonly ingest: number;
  readonly counter: number;
}

/** A target that could not start; the message says why. */
export class TargetUnavailable extends Error {}

const START_TIMEOUT_MS = 120_000;

/** Starts (or reaches) the target named by `--target`. */
export async function startTarget(target: string, serveArgs: readonly string[], profileDir: string | undefined, scale: ScaleOut = { ingest: 0, counter: 0 }): Promise<Target> {
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
      if (scale.ingest > 0 || scale.counter > 0) return await startCluster(namespace, serveArgs, profileDir, scale);
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
    stages: [],
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
  const spawnedAt = performance.now();
  const { child, url: origin } = await spawnTally(['serve', '--port', '0', '--reconcile-interval-ms', '0', ...args], profileDir, /listening on (http:\/\/\S+)/);
  return { kind, origin, description, pid: child.pid, spawnedAt, idPrefix: '', stages: [], stop: () => stopChild(child, cleanup) };
}

/**
 * The distributed mode scaled out: `./tally api`, `./tally cdc`, and `scale.ingest` ingest and
 * `scale.counter` counter processes (at least one each), every one on the run's namespace; the
 * stage processes serve their metrics (`--metrics-port 0`) so the bench reads each one's share.
 */
async function startCluster(namespace: string, serveArgs: readonly string[], profileDir: string | undefined, scale: ScaleOut): Promise<Target> {
  const common = ['--distributed', '--namespace', namespace, ...serveArgs];
  const children: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // The api first (no more writes), then the stages.
    for (const child of children) await stopChild(child, () => undefined);
  };
  try {
    const spawnedAt = performance.now();
    const api = await spawnTally(['api', '--port', '0', ...common], profileDir, /listening on (http:\/\/\S+)/);
    children.push(api.child);
    const kinds: StageTarget['kind'][] = [
      'cdc',
      ...Array.from({ length: Math.max(1, scale.ingest) }, () => 'ingest' as const),
      ...Array.from({ length: Math.max(1, scale.counter) }, () => 'counter' as const),
    ];
    const started = await Promise.all(kinds.map((kind) => spawnTally([kind, '--metrics-port', '0', ...common], profileDir, /metrics on (http:\/\/\S+)/)));
    children.push(...started.map((s) => s.child));
    const stages = started.map((s, i) => ({ kind: kinds[i] as StageTarget['kind'], metricsUrl: s.url, pid: s.child.pid }));
    return {
      kind: 'distributed',
      origin: api.url,
      description: `distributed, namespace ${namespace}, api + cdc + ${Math.max(1, scale.ingest)} ingest + ${Math.max(1, scale.counter)} counter processes`,
      pid: api.child.pid,
      spawnedAt,
      idPrefix: '',
      stages,
      stop: async () => {
        await stopAll();
        await dropNamespace(namespace, serveArgs);
      },
    };
  } catch (error) {
    await stopAll();
    await dropNamespace(namespace, serveArgs);
    throw error;
  }
}

/** Spawns `./tally <args>` and resolves once stdout has a line matching `ready` (its group 1 is the URL). */
async function spawnTally(args: readonly string[], profileDir: string | undefined, ready: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'src/cli/main.ts'), ...args.slice(0, 1), '--log-level', 'warn', ...args.slice(1)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const url = await new Promise<string>((resolvePromise, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0] ?? ''}: no ready line within ${START_TIMEOUT_MS / 1000} s; stderr: ${stderr.trim().slice(-1500)}`));
    }, START_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      const match = ready.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolvePromise(match[1] as string);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args[0] ?? ''} exited (${signal ?? `code ${code}`}) before it was ready: ${stderr.trim().slice(-1500) || '(no output)'}`));
    });
  });
  child.stdout?.resume();
  // A server that dies under load takes its reason with it unless the bench says it.
  child.once('exit', (code, signal) => {
    if (stopping.has(child)) return;
    process.stderr.write(`tally bench: ${args[0] ?? ''} exited (${signal ?? `code ${code}`}) during the run; its last output: ${stderr.trim().slice(-1500) || '(none)'}\n`);
  });
  return { child, url };
}

/** Children the bench is stopping: their exit is expected. */
const stopping = new WeakSet<ChildProcess>();

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
  stopping.add(child);
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  await cleanup();
}
