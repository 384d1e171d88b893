import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../root.ts';

/** Whether a TCP port accepts connections within `timeoutMs`. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The servers of the Redis and PostgreSQL baselines. */
export const SERVICES = {
  redis: { url: 'redis://127.0.0.1:6379', host: '127.0.0.1', port: 6379 },
  postgres: { url: 'postgres://tally:tally@127.0.0.1:5432/tally', host: '127.0.0.1', port: 5432 },
} as const;

/**
 * Makes the named services reachable, running `./tally services up <names>` for the ones that
 * are not (its output goes to stderr). Returns, per service, undefined when reachable or the reason.
 */
export async function ensureServices(names: readonly (keyof typeof SERVICES)[]): Promise<Map<string, string | undefined>> {
  const result = new Map<string, string | undefined>();
  const missing: (keyof typeof SERVICES)[] = [];
  for (const name of names) if (!(await reachable(SERVICES[name].host, SERVICES[name].port))) missing.push(name);
  if (missing.length > 0) {
    process.stderr.write(`tally bench: ${missing.join(' and ')} not reachable; running ./tally services up ${missing.join(' ')}\n`);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(join(ROOT, 'tally'), ['services', 'up', ...missing], { cwd: ROOT, stdio: ['ignore', 2, 2] });
      child.once('exit', (c) => resolve(c));
      child.once('error', () => resolve(-1));
    });
    if (code !== 0) process.stderr.write(`tally bench: ./tally services up exited with ${code}\n`);
  }
  for (const name of names) {
    const { host, port } = SERVICES[name];
    result.set(name, (await reachable(host, port)) ? undefined : `${name} not reachable at ${host}:${port} (./tally services up ${name} did not start it)`);
  }
  return result;
}
