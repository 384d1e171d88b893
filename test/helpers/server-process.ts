import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/**
 * Resolves once `child` printed `tally: ready`, with its API address when it runs the api (else
 * ''); rejects when it exits first or after `timeoutMs`, with `describe()` (its log) in the message.
 */
export function waitForReady(
  child: ChildProcess,
  exited: Promise<number | string>,
  args: readonly string[],
  timeoutMs: number,
  describe: () => string,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tally ${args.join(' ')} was not ready within ${timeoutMs} ms: ${describe()}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/tally: ready/.test(out)) {
        clearTimeout(timer);
        resolve(/listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '');
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tally ${args.join(' ')} exited with ${code} before it was ready: ${describe()}`));
    });
  });
}

/** Starts `tally <args>` as a real child process and resolves once it says it is ready. */
export async function startServer(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['src/cli/main.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = await waitForReady(child, exited, args, timeoutMs, () => stderr);
  return { child, url, exited };
}
