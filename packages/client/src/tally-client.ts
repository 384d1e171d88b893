import type { Accepted, BulkEvent, CountEvent, Counts, Liked, Liker, LikersPage, Count, ErrorBody, UserLike, UserLikesPage } from './api-types.ts';
import { abortReason, parseRetryAfter, retryDelayMs, sleep, type RetryOptions } from './backoff.ts';
import { SseParser } from './sse-parser.ts';
import { TallyApiError } from './tally-api-error.ts';

/** How a `TallyClient` reaches the API. */
export interface TallyClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** A bearer token, sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Retries of 429 and 503 answers (every call is idempotent, writes included). */
  readonly retry?: RetryOptions;
  /** The `fetch` to use; default the platform's. */
  readonly fetch?: typeof fetch;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call, its retries and waits; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of writes. */
export interface WriteOptions extends CallOptions {
  /** `applied`: answer only once the counts include the write (read-your-writes). */
  readonly wait?: 'applied';
}

/** One live count, with the id to resume after it. */
export interface StreamedCount extends CountEvent {
  readonly eventId: string;
}

/** Options of `stream`. */
export interface StreamOptions extends CallOptions {
  /** Resume after this event id (from a previous stream's `eventId`). */
  readonly lastEventId?: string;
  /** Pause before reconnecting when the server named none (`retry:`); default 1000 ms, jittered. */
  readonly reconnectDelayMs?: number;
}

/**
 * A typed client of the Tally HTTP API v1. Every call retries 429 and 503 answers (honouring
 * `Retry-After`, else jittered exponential backoff, capped), takes an `AbortSignal`, and throws
 * `TallyApiError` carrying the API's error `code` otherwise.
 *
 * ```ts
 * const tally = new TallyClient({ baseUrl: 'http://127.0.0.1:8080', token });
 * await tally.like('p1', 'u1');
 * for await (const { postId, count } of tally.stream(['p1'])) console.log(postId, count);
 * ```
 */
export class TallyClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #retry: RetryOptions;
  readonly #fetch: typeof fetch;

  constructor(options: TallyClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#headers = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    this.#retry = options.retry ?? {};
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Likes a post as a user (idempotent); resolves once durable in the log. */
  like(postId: string, userId: string, options: WriteOptions = {}): Promise<Accepted> {
    return this.#json<Accepted>('PUT', `/v1/posts/${id(postId)}/likes/${id(userId)}${waitQuery(options)}`, options);
  }

  /** Removes a user's like of a post (idempotent). */
  unlike(postId: string, userId: string, options: WriteOptions = {}): Promise<Accepted> {
    return this.#json<Accepted>('DELETE', `/v1/posts/${id(postId)}/likes/${id(userId)}${waitQuery(options)}`, options);
  }

  /** Has this user liked the post. */
  async hasLiked(postId: string, userId: string, options: CallOptions = {}): Promise<boolean> {
    return (await this.#json<Liked>('GET', `/v1/posts/${id(postId)}/likes/${id(userId)}`, options)).liked;
  }

  /** The like count of a post. */
  async count(postId: string, options: CallOptions = {}): Promise<number> {
    return (await this.#json<Count>('GET', `/v1/posts/${id(postId)}/count`, options)).count;
  }

  /** Many counts at once; with `viewer`, that user's own liked flags too. */
  counts(postIds: readonly string[], options: CallOptions & { viewer?: string } = {}): Promise<Counts> {
    const query = new URLSearchParams({ posts: postIds.join(',') });
    if (options.viewer !== undefined) query.set('viewer', options.viewer);
    return this.#json<Counts>('GET', `/v1/counts?${query.toString()}`, options);
  }

  /** Everyone who liked the post, newest first, fetching page after page as it is iterated. */
  async *likers(postId: string, options: CallOptions & { pageSize?: number } = {}): AsyncGenerator<Liker, void, undefined> {
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: String(options.pageSize ?? 100) });
      if (cursor !== null) query.set('cursor', cursor);
      const page: LikersPage = await this.#json<LikersPage>('GET', `/v1/posts/${id(postId)}/likes?${query.toString()}`, options);
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  /**
   * The posts a user liked (its Likes tab), newest first, fetching page after page of `limit`
   * (default 100, at most 1000) as it is iterated. With `--auth jwt` the token must be that user's,
   * or a service's with `likers:read`, unless the server runs `--user-likes public`.
   */
  async *userLikes(userId: string, options: CallOptions & { limit?: number } = {}): AsyncGenerator<UserLike, void, undefined> {
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: String(options.limit ?? 100) });
      if (cursor !== null) query.set('cursor', cursor);
      const page: UserLikesPage = await this.#json<UserLikesPage>('GET', `/v1/users/${id(userId)}/likes?${query.toString()}`, options);
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  /** Likes and unlikes in one request, applied in the order given. */
  bulk(events: readonly BulkEvent[], options: WriteOptions = {}): Promise<Accepted> {
    return this.#json<Accepted>('POST', `/v1/events${waitQuery(options)}`, options, { events });
  }

  /**
   * Live counts of these posts: first their current values, then each change (coalesced by the
   * server). A dropped connection is reopened with `Last-Event-ID`, so no change is missed. Ends
   * when the signal aborts (rejecting with its reason) or the loop breaks.
   */
  async *stream(postIds: readonly string[], options: StreamOptions = {}): AsyncGenerator<StreamedCount, void, undefined> {
    const path = `/v1/stream/counts?${new URLSearchParams({ posts: postIds.join(',') }).toString()}`;
    let lastEventId = options.lastEventId ?? '';
    let failures = 0;
    for (;;) {
      const local = new AbortController();
      const onAbort = (): void => local.abort(abortReason(options.signal));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let retryMs: number | undefined;
      try {
        const response = await this.#send('GET', path, { signal: local.signal }, undefined, { accept: 'text/event-stream', ...(lastEventId === '' ? {} : { 'last-event-id': lastEventId }) });
        if (response.body === null) throw new TallyApiError('unexpected_response', 'the stream answered without a body', response.status);
        const parser = new SseParser(lastEventId);
        const decoder = new TextDecoder();
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            for (const event of parser.push(decoder.decode(value, { stream: true }))) {
              lastEventId = event.lastEventId;
              if (event.event !== 'count') continue;
              failures = 0;
              const data = JSON.parse(event.data) as CountEvent;
              yield { postId: data.postId, count: data.count, eventId: event.lastEventId };
            }
          }
        } finally {
          retryMs = parser.retryMs;
          reader.releaseLock();
        }
      } catch (error) {
        if (options.signal?.aborted === true) throw abortReason(options.signal);
        // Only a lost connection is retried here; answers other than 429/503 are final.
        if (error instanceof TallyApiError && error.status !== 0) throw error;
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        local.abort();
      }
      const pause = retryDelayMs(failures, undefined, { baseDelayMs: retryMs ?? options.reconnectDelayMs ?? 1000, maxDelayMs: this.#retry.maxDelayMs ?? 10_000 });
      failures++;
      await sleep(Math.max(pause, 50), options.signal);
    }
  }

  async #json<T>(method: string, path: string, options: CallOptions, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, options, body);
    try {
      return (await response.json()) as T;
    } catch (cause) {
      throw new TallyApiError('unexpected_response', `${method} ${path}: the answer is not JSON`, response.status, { cause });
    }
  }

  /** One call with its retries: resolves with a 2xx response, throws TallyApiError otherwise. */
  async #send(method: string, path: string, options: CallOptions, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const retries = this.#retry.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(this.#base + path, {
          method,
          headers: { ...this.#headers, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      } catch (cause) {
        if (options.signal?.aborted === true) throw abortReason(options.signal);
        throw new TallyApiError('network_error', `${method} ${path}: no answer (${cause instanceof Error ? cause.message : String(cause)})`, 0, { cause });
      }
      if (response.ok) return response;
      const error = await toError(method, path, response);
      if (!error.retriable || attempt >= retries) throw error;
      await sleep(retryDelayMs(attempt, error.retryAfterSeconds, this.#retry), options.signal);
    }
  }
}

async function toError(method: string, path: string, response: Response): Promise<TallyApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  const extra = retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter };
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>;
    if (typeof body.error?.code === 'string') {
      return new TallyApiError(body.error.code as TallyApiError['code'], body.error.message ?? '', response.status, extra);
    }
  } catch {
    // not the API's error body: reported below
  }
  return new TallyApiError('unexpected_response', `${method} ${path}: HTTP ${response.status} ${text.slice(0, 200)}`, response.status, extra);
}

function id(value: string): string {
  return encodeURIComponent(value);
}

function waitQuery(options: WriteOptions): string {
  return options.wait === 'applied' ? '?wait=applied' : '';
}
