import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchHttp } from './http-client.ts';
import { timedRequests, type TimedResult } from './phases/timed-requests.ts';
import { runWrk, WrkFailure, type WrkResult } from './wrk-client.ts';

/** A timed request phase's result and the CPU the load generator used, when it is not this process. */
export interface LoadResult extends TimedResult {
  /** CPU seconds of an external load generator (wrk); undefined for the Node client, whose CPU the phase measures itself. */
  readonly clientCpuSeconds: number | undefined;
}

/** `wrk` (the native load generator) or the bench's own Node client. */
export type LoadGeneratorKind = 'wrk' | 'node';

/**
 * Sends the GET request-rate phases (reads, hello-world): through wrk when it is available (a
 * client that is not the bound), else through the Node client. Both keep `connections`
 * requests in flight for the phase's duration; every answer must be 2xx.
 */
export class LoadGenerator {
  readonly kind: LoadGeneratorKind;
  readonly #wrk: string | undefined;
  readonly #dir: string;
  readonly #files = new Map<readonly string[], string>();
  readonly #authorization: string;

  /** `wrk`: path of the wrk binary, or undefined for the Node client; `authorization`: the header value every request carries, or ''. */
  constructor(wrk: string | undefined, authorization: string) {
    this.kind = wrk === undefined ? 'node' : 'wrk';
    this.#wrk = wrk;
    this.#authorization = authorization;
    this.#dir = mkdtempSync(join(tmpdir(), 'tally-bench-wrk-'));
  }

  /** A file in the generator's scratch directory (the wrk scripts read their paths and posts from files). */
  file(name: string, lines: readonly string[]): string {
    const path = join(this.#dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }

  /** GET `paths` in turn for `durationMs` with `connections` in flight, via `http` (the Node client) or wrk. */
  async get(http: BenchHttp, options: { name: string; origin: string; paths: readonly string[]; durationMs: number; connections: number; epoch: number; progress: boolean }): Promise<LoadResult> {
    if (this.#wrk === undefined) {
      const timed = await timedRequests(http, { name: options.name, method: 'GET', paths: options.paths, durationMs: options.durationMs, concurrency: options.connections, epoch: options.epoch, progress: options.progress });
      return { ...timed, clientCpuSeconds: undefined };
    }
    let file = this.#files.get(options.paths);
    if (file === undefined) {
      file = this.file(`paths-${this.#files.size}.txt`, options.paths);
      this.#files.set(options.paths, file);
    }
    const result = await this.wrk({ origin: options.origin, script: 'paths.lua', args: [file, this.#authorization], connections: options.connections, durationMs: options.durationMs });
    if (result.non2xx > 0 || result.socketErrors > 0) throw new WrkFailure(`${options.name}: ${result.non2xx} answers ≥ 400 and ${result.socketErrors} socket errors out of ${result.requests}`);
    return result;
  }

  /** Runs one of the bench/wrk scripts (wrk mode only). */
  async wrk(options: { origin: string; script: string; args: readonly string[]; connections: number; durationMs: number }): Promise<WrkResult> {
    if (this.#wrk === undefined) throw new Error('LoadGenerator.wrk: no wrk');
    return runWrk({ wrk: this.#wrk, ...options });
  }

  /** The bearer header value for the scripts ('' without a token). */
  get authorization(): string {
    return this.#authorization;
  }

  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
