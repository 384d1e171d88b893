import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../histogram.ts';
import { BenchHttp } from '../http-client.ts';
import { processCpuSeconds } from '../proc-cpu.ts';
import { timedRequests, type TimedResult } from '../phases/timed-requests.ts';
import type { BaselineResult } from './baseline-result.ts';

/** Options of {@link helloWorldBaseline}. */
export interface HelloOptions {
  readonly durationMs: number;
  readonly concurrency: number;
  readonly epoch: number;
  readonly progress: boolean;
}

/** The HTTP ceiling of this machine: GET / of a fastify hello-world in a child process, same client and concurrency as Tally's. */
export async function helloWorldBaseline(options: HelloOptions): Promise<{ result: BaselineResult; timed: TimedResult }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./hello-server.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const origin = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match !== null) resolve(match[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`hello-world server exited with ${code}`)));
    });
    const http = new BenchHttp(origin, options.concurrency);
    try {
      const client = process.cpuUsage();
      const serverBefore = processCpuSeconds(child.pid);
      const timed = await timedRequests(http, { name: 'baseline: hello-world', method: 'GET', paths: ['/'], durationMs: options.durationMs, concurrency: options.concurrency, epoch: options.epoch, progress: options.progress });
      const used = process.cpuUsage(client);
      const serverAfter = processCpuSeconds(child.pid);
      return {
        result: {
          perSec: timed.perSec,
          operations: timed.requests,
          seconds: timed.seconds,
          correct: null,
          latency: summarize(timed.latency),
          clientCores: Math.round(((used.user + used.system) / 1e6 / timed.seconds) * 100) / 100,
          ...(serverBefore === undefined || serverAfter === undefined ? {} : { serverCores: Math.round(((serverAfter - serverBefore) / timed.seconds) * 100) / 100 }),
          note: `fastify GET / in a child process, ${options.concurrency} connections, ${options.durationMs / 1000} s`,
        },
        timed,
      };
    } finally {
      await http.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
}
