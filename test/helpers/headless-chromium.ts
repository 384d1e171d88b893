import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './server-process.ts';

/** A page of a headless Chromium, driven over the DevTools protocol (Node's own WebSocket). */
export interface BrowserPage {
  /** Sends one DevTools command and resolves with its result. */
  send<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Evaluates an expression in the page; resolves with its (JSON-serialisable) value. */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/** Debian's chromium, installed by scripts/ensure-chromium.sh when missing. */
export function chromiumPath(): string {
  return execFileSync('bash', [join(REPO_ROOT, 'scripts/ensure-chromium.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 }).trim();
}

/** Starts a headless Chromium with an empty page and connects to that page. */
export async function openBrowser(timeoutMs = 20_000): Promise<BrowserPage> {
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
  const child: ChildProcess = spawn(
    chromiumPath(),
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1280,900', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited;
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not open its DevTools port within ${timeoutMs} ms: ${err.slice(-2000)}`)), timeoutMs);
      child.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then(() => reject(new Error(`chromium exited: ${err.slice(-2000)}`)));
    });
    const port = new URL(endpoint).port;
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.type === 'page');
    if (target === undefined) throw new Error('chromium has no page target');
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error('could not connect to the page over DevTools')), { once: true });
    });
    let nextId = 0;
    const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    socket.addEventListener('message', (message: MessageEvent) => {
      const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (data.id === undefined) return;
      const waiter = waiting.get(data.id);
      waiting.delete(data.id);
      if (data.error !== undefined) waiter?.reject(new Error(data.error.message));
      else waiter?.resolve(data.result);
    });
    const send = <T>(method: string, params: Record<string, unknown> = {}): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const id = ++nextId;
        waiting.set(id, { resolve: (value) => resolve(value as T), reject });
        socket.send(JSON.stringify({ id, method, params }));
      });
    return {
      send,
      async evaluate<T>(expression: string): Promise<T> {
        const result = await send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
        if (result.exceptionDetails !== undefined) throw new Error(`in the page: ${result.exceptionDetails.text}`);
        return result.result.value as T;
      },
      async close() {
        socket.close();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
