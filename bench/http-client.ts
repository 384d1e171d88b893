import { Pool } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';

/** One HTTP answer, body read as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/** A non-retriable HTTP failure during a benchmark phase. */
export class HttpFailure extends Error {}

const RETRIABLE = new Set([429, 503]);

/**
 * The load generator's HTTP client: an undici pool of keep-alive connections to one origin,
 * one request per connection at a time. Bodies are given pre-serialized, so the generator
 * spends its CPU on sending rather than on JSON.
 */
export class BenchHttp {
  /** Headers every request of every client carries (a bearer token: `./tally bench --token-file`). */
  static #shared: Record<string, string> = {};
  readonly #pool: Pool;
  /** 429/503 answers retried so far (Tally's back-pressure). */
  retries = 0;

  constructor(origin: string, connections: number) {
    this.#pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  /** Every later request of every client sends `Authorization: Bearer <token>`. */
  static useBearerToken(token: string): void {
    BenchHttp.#shared = { authorization: `Bearer ${token}` };
  }

  /** The Authorization header value every request carries ('' without a token), for other clients (wrk). */
  static get authorization(): string {
    return BenchHttp.#shared.authorization ?? '';
  }

  /** One request; the answer whatever its status. */
  async request(method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: Buffer | string): Promise<HttpAnswer> {
    const response = await this.#pool.request({
      method,
      path,
      headers: body === undefined ? BenchHttp.#shared : { ...BenchHttp.#shared, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  /** A request that must succeed (2xx): 429/503 are retried after a short pause, anything else throws. */
  async expectOk(method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: Buffer | string): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      const answer = await this.request(method, path, body);
      if (answer.status >= 200 && answer.status < 300) return answer;
      if (!RETRIABLE.has(answer.status) || attempt >= 10_000) {
        throw new HttpFailure(`${method} ${path.slice(0, 80)} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      }
      this.retries++;
      await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 6)));
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
