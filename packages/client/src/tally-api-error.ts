import type { TallyErrorCode } from './api-types.ts';

/**
 * An answer of the API that is not a success, or a request that got no answer. `code` is the
 * API's error code (`network_error` when no answer came, `unexpected_response` when the answer
 * was not the API's); `status` is the HTTP status (0 without an answer).
 */
export class TallyApiError extends Error {
  readonly code: TallyErrorCode;
  readonly status: number;
  /** Seconds the server asked to wait (`Retry-After`), if it did. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: TallyErrorCode, message: string, status: number, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TallyApiError';
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** True for overload answers (429, 503) and requests that got no answer. */
  get retriable(): boolean {
    return this.status === 429 || this.status === 503 || this.code === 'network_error';
  }
}
