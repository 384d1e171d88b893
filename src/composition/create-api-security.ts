import { isIP } from 'node:net';
import { MemoryTokenBuckets } from '../adapters/memory/memory-token-buckets.ts';
import type { Options } from '../config/options.ts';
import { TallyError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { TokenBuckets } from '../ports/token-buckets.ts';
import { Hs256SecretSource } from '../stages/api/auth/hs256-secret-source.ts';
import { JwksFileSource } from '../stages/api/auth/jwks-file-source.ts';
import { JwksUrlSource } from '../stages/api/auth/jwks-url-source.ts';
import type { KeySource } from '../stages/api/auth/key-source.ts';
import { TokenVerifier } from '../stages/api/auth/token-verifier.ts';

/** What the api's security needs from the composition root: a token verifier and rate-limit buckets. */
export interface ApiSecurity {
  readonly verifier: TokenVerifier | undefined;
  readonly buckets: TokenBuckets | undefined;
  init(): Promise<void>;
  close(): Promise<void>;
  /** A line for the start-up log. */
  describe(): string;
}

/**
 * Checks the security options together and builds what they ask for. Refuses (invalid_option)
 * to serve without authentication on an address beyond loopback unless --allow-unauthenticated.
 */
export async function createApiSecurity(options: Options, log: Logger): Promise<ApiSecurity> {
  checkOptions(options);
  const verifier =
    options.auth === 'jwt'
      ? new TokenVerifier(keySource(options), { issuer: options.jwtIssuer, audience: options.jwtAudience, clockSkewS: options.jwtClockSkewS })
      : undefined;
  let buckets: TokenBuckets | undefined;
  if (options.rateLimitIp !== 'off' || options.rateLimitUser !== 'off') {
    if (options.distributed) {
      const { RedisTokenBuckets } = await import('../adapters/redis/redis-token-buckets.ts');
      buckets = new RedisTokenBuckets({ url: options.redisUrl, namespace: options.namespace, log });
    } else {
      buckets = new MemoryTokenBuckets();
    }
  }
  return {
    verifier,
    buckets,
    init: async () => buckets?.init(),
    close: async () => buckets?.close(),
    describe: () =>
      [
        verifier === undefined ? 'auth none' : `auth jwt (${verifier.describe()})`,
        `likers ${options.likers}`,
        `user likes ${options.auth === 'none' ? 'open (auth none)' : options.userLikes}`,
        `rate limits ip ${describeLimit(options.rateLimitIp)}, user ${describeLimit(options.rateLimitUser)}${buckets === undefined ? '' : options.distributed ? ' (Redis)' : ' (in process)'}`,
      ].join(', '),
  };
}

function describeLimit(limit: string): string {
  return limit === 'off' ? 'off' : `${limit}/s`;
}

function checkOptions(options: Options): void {
  if (options.auth === 'none') {
    if (!isLoopback(options.host) && !options.allowUnauthenticated) {
      throw new TallyError(
        'invalid_option',
        `refusing to listen on ${options.host} with --auth none: anyone who can reach it could like and unlike as any user. ` +
          'Use --auth jwt (see README "Security"), bind to 127.0.0.1, or, when a gateway in front authenticates every request, add --allow-unauthenticated (TALLY_ALLOW_UNAUTHENTICATED=true)',
      );
    }
    if (options.likers === 'service') throw new TallyError('invalid_option', '--likers service needs --auth jwt: without tokens no caller could ever list likers');
    if (options.authReads) throw new TallyError('invalid_option', '--auth-reads true needs --auth jwt');
    return;
  }
  const missing = [
    ...(options.jwtIssuer === '' ? ['--jwt-issuer'] : []),
    ...(options.jwtAudience === '' ? ['--jwt-audience'] : []),
  ];
  if (missing.length > 0) throw new TallyError('invalid_option', `--auth jwt needs ${missing.join(' and ')}: tokens are accepted only from your issuer, for this audience`);
  if ((options.jwtJwks === '') === (options.jwtSecretFile === '')) {
    throw new TallyError('invalid_option', '--auth jwt needs exactly one of --jwt-jwks (a JWKS file or URL of public keys) and --jwt-secret-file (an HS256 secret)');
  }
}

function keySource(options: Options): KeySource {
  if (options.jwtSecretFile !== '') return new Hs256SecretSource(options.jwtSecretFile);
  return /^https?:\/\//.test(options.jwtJwks) ? new JwksUrlSource(options.jwtJwks) : new JwksFileSource(options.jwtJwks);
}

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h === '::1') return true;
  return /^::ffff:127\./.test(h);
}
