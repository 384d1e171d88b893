/** How the client retries 429 and 503 answers. */
export interface RetryOptions {
  /** Retries after the first attempt; default 4 (0 disables). */
  readonly retries?: number;
  /** First backoff step in ms; default 100. Doubles each attempt, with full jitter. */
  readonly baseDelayMs?: number;
  /** No wait is longer, even when `Retry-After` asks for more; default 10,000. */
  readonly maxDelayMs?: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): the server's `Retry-After`
 * plus up to 20% jitter when it gave one, else full jitter over base·2^attempt; capped.
 */
export function retryDelayMs(attempt: number, retryAfterSeconds: number | undefined, options: RetryOptions, random: () => number = Math.random): number {
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 10_000;
  if (retryAfterSeconds !== undefined) return Math.min(cap, retryAfterSeconds * 1000 * (1 + 0.2 * random()));
  return Math.min(cap, random() * base * 2 ** attempt);
}

/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error an aborted call rejects with: the signal's reason when it is an Error, else an AbortError. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException(typeof reason === 'string' ? reason : 'This operation was aborted', 'AbortError');
}
