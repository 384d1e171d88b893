import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from '../histogram.ts';
import { BenchHttp } from '../http-client.ts';
import { processCpuSeconds } from '../proc-cpu.ts';
import type { LoadGenerator } from '../load-generator.ts';
import type { TimedResult } from '../phases/timed-requests.ts';
import type { BaselineResult } from './baseline-result.ts';

/** Options of {@link helloWorldBaseline}. */
export interface HelloOptions {
  readonly durationMs: number;
  readonly concurrency: number;
  readonly epoch: number;
  readonly progress: boolean;
  /** wrk or the Node client, as for Tally's request-rate phases. */
  readonly load: LoadGenerator;
}

/** The HTTP ceiling of this machine: GET / of a fastify hello-world in a child process, same load generator and concurrency as Tally's. */
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
      const timed = await options.load.get(http, { name: 'baseline: hello-world', origin, paths: ['/'], durationMs: options.durationMs, connections: options.concurrency, epoch: options.epoch, progress: options.progress });
      const used = process.cpuUsage(client);
      const clientSeconds = (used.user + used.system) / 1e6 + (timed.clientCpuSeconds ?? 0);
      const serverAfter = processCpuSeconds(child.pid);
      return {
        result: {
          perSec: timed.perSec,
          operations: timed.requests,
          seconds: timed.seconds,
          correct: null,
          latency: summarize(timed.latency),
          clientCores: Math.round((clientSeconds / timed.seconds) * 100) / 100,
          ...(serverBefore === undefined || serverAfter === undefined ? {} : { serverCores: Math.round(((serverAfter - serverBefore) / timed.seconds) * 100) / 100 }),
          note: `fastify GET / in a child process, ${options.load.kind === 'wrk' ? 'wrk' : 'the Node client'}, ${options.concurrency} connections, ${options.durationMs / 1000} s`,
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
