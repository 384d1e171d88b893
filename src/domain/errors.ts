/**
 * Every error code a client or operator can see. The HTTP layer maps each to a status in one
 * place (`stages/api/error-statuses.ts`), and a test fails when one is missing from the README.
 */
export const ERROR_CODES = [
  'invalid_id',
  'invalid_body',
  'invalid_json',
  'invalid_query',
  'unsupported_media_type',
  'body_too_large',
  'too_many_posts',
  'too_many_events',
  'invalid_cursor',
  'not_found',
  'overloaded',
  'ingest_lagging',
  'apply_timeout',
  'not_ready',
  'position_conflict',
  'invalid_option',
  'backend_unavailable',
  'internal',
  'too_many_streams',
  'unauthenticated',
  'forbidden',
  'rate_limited',
  'method_not_allowed',
  'bad_request',
  'headers_too_large',
  'request_timeout',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface TallyErrorOptions {
  readonly cause?: unknown;
  /** True when the same call may succeed later (overload, a backend restarting). */
  readonly retriable?: boolean;
}

/** The base error of Tally: a stable `code`, a message saying what to do, and flags. */
export class TallyError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: TallyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TallyError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export function isTallyError(error: unknown): error is TallyError {
  return error instanceof TallyError;
}
