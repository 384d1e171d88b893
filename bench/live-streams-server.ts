import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** An embedded `./tally serve` child process on a free port. */
export async function startTally(dataDir: string, flags: readonly string[] = []): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', '--data', dataDir, '--log-level', 'warn', '--reconcile-interval-ms', '0', '--max-read-posts', '500', ...flags], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1] !== undefined && /tally: ready/.test(out)) resolve(match[1]);
    });
    void exited.then(() => reject(new Error(`tally serve exited: ${out}`)));
  });
  return {
    url,
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
