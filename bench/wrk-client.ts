import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { latencyHistogram } from './histogram.ts';
import type { TimedResult } from './phases/timed-requests.ts';
import { RateSeries } from './rate-series.ts';
import { ROOT } from './root.ts';

/** What one wrk run measured, as a {@link TimedResult} plus what only wrk knows. */
export interface WrkResult extends TimedResult {
  /** Requests the Lua script built (sent or about to be): at least `requests`. */
  readonly sent: number;
  /** Answers with a status ≥ 400. */
  readonly non2xx: number;
  /** Socket errors and timeouts. */
  readonly socketErrors: number;
  /** CPU seconds wrk itself used (user + system). */
  readonly clientCpuSeconds: number;
}

/** A wrk run whose output could not be read, or that saw answers it should not have. */
export class WrkFailure extends Error {}

/** Options of {@link runWrk}. */
export interface WrkRun {
  /** Path of the wrk binary ({@link locateWrk}). */
  readonly wrk: string;
  readonly origin: string;
  /** Script under bench/wrk/, e.g. `paths.lua`. */
  readonly script: string;
  /** Arguments after `--`, given to the script's init(). */
  readonly args: readonly string[];
  readonly connections: number;
  readonly durationMs: number;
}

/** Where wrk is, or why it is not: runs scripts/ensure-wrk.sh, which installs Debian's wrk when missing. */
export function locateWrk(): { path: string } | { missing: string } {
  try {
    const path = execFileSync('bash', [join(ROOT, 'scripts/ensure-wrk.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }).trim();
    return path.length > 0 ? { path } : { missing: 'scripts/ensure-wrk.sh printed no path' };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    return { missing: stderr.trim().split('\n').at(-1) ?? (error instanceof Error ? error.message : String(error)) };
  }
}

interface WrkLine {
  readonly requests: number;
  readonly durationUs: number;
  readonly sent: number;
  readonly errors: { readonly connect: number; readonly read: number; readonly write: number; readonly status: number; readonly timeout: number };
  readonly cpuSeconds: number;
  readonly meanUs: number;
  readonly percentilesUs: readonly (readonly [number, number])[];
}

/**
 * Runs wrk with one thread (one core at most, and a single request sequence the likes script can
 * number) and `connections` keep-alive connections for `durationMs`, and reads the JSON line of
 * bench/wrk/report.lua. The latency histogram is rebuilt from wrk's percentiles (30 points from
 * p0 to p100), close enough for the summaries and the report's curves.
 */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const seconds = Math.max(1, Math.round(run.durationMs / 1000));
  const argv = ['-t1', `-c${run.connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', join(ROOT, 'bench/wrk', run.script), run.origin, '--', ...run.args];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(run.wrk, argv, { maxBuffer: 4 * 2 ** 20, timeout: run.durationMs + 60_000 }, (error, out, err) => {
      if (error !== null) reject(new WrkFailure(`wrk ${argv.join(' ')} failed: ${error.message} ${err.trim().slice(-500)}`));
      else resolve(out);
    });
  });
  const line = /^WRK_RESULT (.*)$/m.exec(stdout)?.[1];
  if (line === undefined) throw new WrkFailure(`wrk printed no result line: ${stdout.slice(-800)}`);
  const parsed = JSON.parse(line) as WrkLine;
  const latency = latencyHistogram();
  let previous = 0;
  for (const [percentile, us] of parsed.percentilesUs) {
    const count = Math.round((parsed.requests * (percentile - previous)) / 100);
    if (count > 0) latency.recordValueWithCount(Math.max(1, us), count);
    previous = percentile;
  }
  const secondsRun = parsed.durationUs / 1e6;
  const e = parsed.errors;
  return {
    requests: parsed.requests,
    seconds: secondsRun,
    perSec: parsed.requests / secondsRun,
    latency,
    series: new RateSeries(),
    sent: parsed.sent,
    non2xx: e.status,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    clientCpuSeconds: parsed.cpuSeconds,
  };
}
