import type { ErrorCode } from '../../domain/errors.ts';

/** The one place that maps error codes to HTTP statuses. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  invalid_id: 400,
  invalid_body: 400,
  invalid_json: 400,
  invalid_query: 400,
  unsupported_media_type: 415,
  body_too_large: 413,
  too_many_posts: 400,
  too_many_events: 413,
  invalid_cursor: 400,
  not_found: 404,
  overloaded: 503,
  ingest_lagging: 429,
  apply_timeout: 504,
  not_ready: 503,
  position_conflict: 409,
  invalid_option: 500,
  backend_unavailable: 503,
  internal: 500,
  too_many_streams: 503,
};
