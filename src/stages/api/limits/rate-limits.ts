import rateLimitPlugin from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { parseRateLimit, type RateLimit } from '../../../config/security-options.ts';
import { TallyError } from '../../../domain/errors.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { TokenBuckets } from '../../../ports/token-buckets.ts';
import type { Api } from '../api-types.ts';
import { bucketStore } from './bucket-store.ts';

/** The two limits of the api; `off` disables one. */
export interface RateLimitSettings {
  /** Every request, per client IP (IPv6 per /64). */
  readonly perIp: RateLimit | 'off';
  /** Single likes and unlikes, per acting user (the path's userId). */
  readonly perUser: RateLimit | 'off';
}

type Limiter = (request: FastifyRequest) => Promise<{ isAllowed: true } | { isAllowed: false; isExceeded: boolean; ttl: number }>;

/** Adds the per-user hook; call it after the authorization hook, so it runs after it. */
export type AddUserLimit = () => void;

/**
 * Token-bucket rate limits through @fastify/rate-limit (its `createRateLimit`, over a
 * {@link TokenBuckets} store): per IP as a request arrives (before its token is verified), and
 * per acting user on single writes, added by the returned function once the caller is authorized
 * (a refused caller never drains another user's bucket). A refusal is 429 `rate_limited` with
 * Retry-After in whole seconds.
 */
export async function registerRateLimits(app: Api, buckets: TokenBuckets, settings: RateLimitSettings, log: Logger): Promise<AddUserLimit> {
  if (settings.perIp === 'off' && settings.perUser === 'off') return () => undefined;
  await app.register(rateLimitPlugin, { global: false, store: bucketStore(buckets, log) });

  if (settings.perIp !== 'off') {
    const limiter: Limiter = app.createRateLimit({ ...window(settings.perIp), keyGenerator: (request) => `ip:${rateLimitPlugin.normalizeIP(request.ip)}` });
    const limit = settings.perIp;
    app.addHook('onRequest', async (request, reply) => refuseWhenExceeded(await limiter(request), reply, `more than ${limit.perSecond} requests/s (burst ${limit.burst}) from your address`));
  }
  const perUser = settings.perUser;
  if (perUser === 'off') return () => undefined;
  const limiter: Limiter = app.createRateLimit({ ...window(perUser), keyGenerator: (request) => `user:${(request.params as { userId?: string }).userId ?? ''}` });
  return () => {
    app.addHook('preHandler', async (request, reply) => {
      if (!isSingleWrite(request)) return;
      refuseWhenExceeded(await limiter(request), reply, `more than ${perUser.perSecond} likes/unlikes per second (burst ${perUser.burst}) for this user`);
    });
  };
}

function window(limit: RateLimit): { max: number; timeWindow: number } {
  return { max: limit.burst, timeWindow: Math.max(1, Math.round((limit.burst * 1000) / limit.perSecond)) };
}

function isSingleWrite(request: FastifyRequest): boolean {
  return (request.method === 'PUT' || request.method === 'DELETE') && request.routeOptions.url === '/v1/posts/:postId/likes/:userId';
}

function refuseWhenExceeded(result: Awaited<ReturnType<Limiter>>, reply: { header(name: string, value: string): unknown }, what: string): void {
  if (result.isAllowed || !result.isExceeded) return;
  const seconds = Math.max(1, Math.ceil(result.ttl / 1000));
  reply.header('retry-after', String(seconds));
  throw new TallyError('rate_limited', `rate limited: ${what}; retry after ${seconds} s`);
}

/** The limits of the options' text (validated at start-up). */
export function rateLimitSettings(perIp: string, perUser: string): RateLimitSettings {
  const read = (raw: string): RateLimit | 'off' => {
    const parsed = parseRateLimit(raw);
    if (typeof parsed === 'object' && 'allowed' in parsed) throw new Error(`rate limit "${raw}": ${parsed.allowed}`);
    return parsed;
  };
  return { perIp: read(perIp), perUser: read(perUser) };
}
