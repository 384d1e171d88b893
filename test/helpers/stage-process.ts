import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { REPO_ROOT, waitForReady } from './server-process.ts';

/** A `tally <command>` child process whose stderr (its JSON log) goes to a file. */
export interface StageProcess {
  readonly args: readonly string[];
  readonly child: ChildProcess;
  /** The API address when the process runs the api, else ''. */
  readonly url: string;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  /** True until the process ended. */
  readonly alive: () => boolean;
}

/**
 * Starts `tally <args>` with stderr appended to `logFile` (nothing is lost, even while the test is
 * busy), and resolves once it printed `tally: ready`.
 */
export async function startStage(args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<StageProcess> {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['src/cli/main.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', fd] });
  } finally {
    closeSync(fd);
  }
  let ended = false;
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      ended = true;
      resolve(code ?? signal ?? -1);
    }),
  );
  const tail = (): string => readFileSync(logFile, 'utf8').slice(-3000);
  const url = await waitForReady(child, exited, args, timeoutMs, () => `log ${logFile} ends with:\n${tail()}`);
  return { args, child, url, logFile, exited, alive: () => !ended };
}

/** Sends `signal` (if the process still runs) and waits for it to end; SIGKILL after `killAfterMs` if given. */
export async function stopStage(stage: StageProcess, signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number): Promise<number | string> {
  if (stage.alive()) stage.child.kill(signal);
  if (killAfterMs === undefined) return stage.exited;
  const timer = setTimeout(() => stage.child.kill('SIGKILL'), killAfterMs);
  try {
    return await stage.exited;
  } finally {
    clearTimeout(timer);
  }
}
