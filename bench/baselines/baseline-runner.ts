import type { LoadGenerator } from '../load-generator.ts';
import type { BenchOptions } from '../options.ts';
import type { TimedResult } from '../phases/timed-requests.ts';
import type { Workload } from '../workload.ts';
import { skippedBaseline, type BaselineResult } from './baseline-result.ts';
import { helloWorldBaseline } from './hello-world.ts';
import { postgresNaiveBaseline } from './postgres-naive.ts';
import { redisLuaBaseline } from './redis-lua.ts';
import { ensureServices, SERVICES } from './services.ts';

const OFF = 'not selected (--baselines / --no-baselines)';

/**
 * Runs the selected baselines, each right after the Tally phase it is compared with (writes after
 * bulk, hello-world after single likes), so that on a shared machine both see the same background
 * load. A baseline that cannot run is recorded as skipped with the reason.
 */
export class BaselineRunner {
  readonly #options: BenchOptions;
  readonly #workload: Workload;
  readonly #epoch: number;
  readonly #progress: boolean;
  readonly #say: (line: string) => void;
  readonly notes: string[] = [];
  redis: BaselineResult = skippedBaseline(OFF);
  postgres: BaselineResult = skippedBaseline(OFF);
  hello: BaselineResult = skippedBaseline(OFF);
  helloTimed: TimedResult | undefined;
  #unreachable = new Map<string, string | undefined>();

  constructor(options: BenchOptions, workload: Workload, epoch: number, progress: boolean, say: (line: string) => void) {
    this.#options = options;
    this.#workload = workload;
    this.#epoch = epoch;
    this.#progress = progress;
    this.#say = say;
  }

  /** Makes Redis and PostgreSQL reachable (./tally services up) before anything is measured. */
  async prepare(): Promise<void> {
    const wanted = (['redis', 'postgres'] as const).filter((name) => this.#options.baselines.has(name));
    if (wanted.length > 0) this.#unreachable = await ensureServices(wanted);
  }

  /** Redis SADD+INCR Lua, then PostgreSQL one transaction per like. */
  async writes(): Promise<void> {
    const o = this.#options;
    if (o.baselines.has('redis')) {
      this.redis = await this.#run('redis', `Redis SADD+INCR Lua, first ${Math.min(o.baselineEvents, o.events)} events, pipelined`, () =>
        redisLuaBaseline(SERVICES.redis.url, this.#workload, o.baselineEvents, this.#progress),
      );
    }
    if (o.baselines.has('postgres')) {
      this.postgres = await this.#run('postgres', `PostgreSQL one transaction per like, 16 connections, up to ${o.duration} s`, () =>
        postgresNaiveBaseline(this.#workload, { url: SERVICES.postgres.url, events: o.baselineEvents, durationMs: o.duration * 1000, window: this.#workload.spec.minGap, progress: this.#progress }),
      );
    }
  }

  /** The fastify hello-world in a child process, through `load` (wrk or the Node client). */
  async http(load: LoadGenerator): Promise<void> {
    const o = this.#options;
    if (!o.baselines.has('hello')) return;
    this.hello = await this.#run('hello', `fastify hello-world in a child process, ${o.concurrency} in flight, ${o.duration} s`, async () => {
      const measured = await helloWorldBaseline({ durationMs: o.duration * 1000, concurrency: o.concurrency, epoch: this.#epoch, progress: this.#progress, load });
      this.helloTimed = measured.timed;
      return measured.result;
    });
  }

  async #run(name: string, what: string, run: () => Promise<BaselineResult>): Promise<BaselineResult> {
    const down = this.#unreachable.get(name);
    if (down !== undefined) {
      this.notes.push(`${name} baseline skipped: ${down}`);
      return skippedBaseline(down);
    }
    this.#say(`baseline: ${what}`);
    try {
      return await run();
    } catch (error) {
      const reason = `${name} baseline failed: ${error instanceof Error ? error.message : String(error)}`;
      this.notes.push(reason);
      return skippedBaseline(reason);
    }
  }
}
