import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, type DynamoDBStreamsClientConfig } from '@aws-sdk/client-dynamodb-streams';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../../domain/errors.ts';

/** Where the DynamoDB profile keeps its data. */
export interface DynamoSettings {
  /** `--dynamodb-endpoint`: empty means AWS (region and credentials from the standard AWS chain). */
  readonly endpoint: string;
  /** Prefix of every table: `<namespace>-likes`, `<namespace>-counts`, ... */
  readonly namespace: string;
}

/** Region when none is configured: the emulator ignores it, AWS needs one (AWS_REGION). */
const FALLBACK_REGION = 'us-east-1';

/** Whether the endpoint is a local emulator, where dummy credentials are fine. */
export function isLocalEndpoint(endpoint: string): boolean {
  if (endpoint === '') return false;
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** Client options: the endpoint, the region of the AWS chain, and dummy credentials for a local emulator without any. */
function clientConfig(settings: DynamoSettings): DynamoDBClientConfig & DynamoDBStreamsClientConfig {
  const env = process.env;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? FALLBACK_REGION;
  const hasCredentials = env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_PROFILE !== undefined || env.AWS_WEB_IDENTITY_TOKEN_FILE !== undefined;
  return {
    region,
    ...(settings.endpoint === '' ? {} : { endpoint: settings.endpoint }),
    ...(isLocalEndpoint(settings.endpoint) && !hasCredentials ? { credentials: { accessKeyId: 'tally-local', secretAccessKey: 'tally-local' } } : {}),
    // Retries are Tally's (jittered, bounded, with its own error mapping); the SDK makes one attempt.
    maxAttempts: 1,
    // A frozen or unreachable endpoint must fail a call (then retried), not hang a stage; without
    // throwOnRequestTimeout the SDK only logs a warning and keeps waiting.
    requestHandler: { connectionTimeout: 3000, requestTimeout: 15_000, throwOnRequestTimeout: true },
  };
}

export function createDynamoClient(settings: DynamoSettings): DynamoDBClient {
  return new DynamoDBClient(clientConfig(settings));
}

export function createStreamsClient(settings: DynamoSettings): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(clientConfig(settings));
}

/** Names the endpoint in messages. */
export function describeEndpoint(endpoint: string): string {
  return endpoint === '' ? `AWS (region ${process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? FALLBACK_REGION})` : endpoint;
}

const THROTTLES = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'LimitExceededException', 'InternalServerError', 'ServiceUnavailable', 'TransactionInProgressException']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The name an AWS SDK error carries (`ConditionalCheckFailedException`, ...). */
export function awsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** Whether DynamoDB asked to slow down or retry (throttling, a server error). */
export function isThrottle(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return THROTTLES.has(error.name) || (status !== undefined && status >= 500);
}

/** Whether the endpoint could not be reached (refused, reset, timed out). */
export function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (/ECONNREFUSED|ECONNRESET|socket hang up|timed? ?out/i.test(e.message) || e.name === 'TimeoutError') return true;
  }
  return false;
}

/** TallyErrors pass through; an unreachable or throttling DynamoDB becomes a retriable `backend_unavailable`. */
export function asTallyError(error: unknown, endpoint: string): unknown {
  if (error instanceof TallyError) return error;
  if (isNetworkError(error) || isThrottle(error)) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new TallyError('backend_unavailable', `DynamoDB at ${describeEndpoint(endpoint)} is unavailable or throttling (${message}); the operation can be retried`, { cause: error, retriable: true });
  }
  return error;
}

export interface RetryOptions {
  /** Attempts before giving up (default 8). */
  readonly attempts?: number;
  /** First backoff in ms; doubles each attempt, with full jitter (default 25). */
  readonly baseMs?: number;
  /** Longest backoff (default 2000). */
  readonly maxMs?: number;
}

/** Full-jitter exponential backoff, as AWS recommends: a random wait in [0, min(max, base·2^attempt)]. */
export function backoffMs(attempt: number, options: RetryOptions = {}): number {
  const cap = Math.min(options.maxMs ?? 2000, (options.baseMs ?? 25) * 2 ** attempt);
  return Math.random() * cap;
}

/**
 * Runs one DynamoDB call, retrying throttling and unreachable-endpoint errors with jittered
 * backoff; other errors (a failed condition, a validation error) are thrown at once. What is
 * still failing after the attempts comes out as a retriable `backend_unavailable`.
 */
export async function withRetry<T>(endpoint: string, call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = isThrottle(error) || isNetworkError(error);
      if (!retriable || attempt + 1 >= attempts) throw asTallyError(error, endpoint);
      await sleep(backoffMs(attempt, options));
    }
  }
}
