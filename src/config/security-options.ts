import { bool, int, oneOf, widen, type OptionSpec } from './option-parsers.ts';

/** How the api authenticates callers: `none` trusts the path, `jwt` verifies bearer tokens. */
export type AuthMode = 'none' | 'jwt';

/** Who may read a post's likers: anyone, or only service tokens with the `likers:read` scope. */
export type LikersAccess = 'public' | 'service';

/** Who may read a user's Likes tab: the user itself (and services with likers:read or admin), or anyone. */
export type UserLikesAccess = 'private' | 'public';

/** A token bucket: `perSecond` tokens added each second, at most `burst` kept. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** `off`, or `RATE[:BURST]` per second (burst defaults to the rate, rounded up). */
export function parseRateLimit(raw: string): RateLimit | 'off' | { allowed: string } {
  if (raw === 'off' || raw === '0') return 'off';
  const match = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(raw.trim());
  const perSecond = Number(match?.[1]);
  const burst = match?.[2] === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(match[2]);
  if (match === null || !(perSecond > 0) || perSecond > 1e9 || !Number.isSafeInteger(burst) || burst < 1 || burst > 1e9) {
    return { allowed: 'off, or RATE[:BURST]: requests per second (> 0) and the burst (an integer >= 1), e.g. 5:20' };
  }
  return { perSecond, burst };
}

/** `false`, or a comma list of proxy addresses/CIDRs whose X-Forwarded-For is trusted. */
function trustProxy(raw: string): string | { allowed: string } {
  const value = raw.trim();
  if (value === 'false') return value;
  if (/^[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*$/.test(value)) return value;
  return { allowed: 'false, or a comma list of proxy addresses or CIDRs (e.g. 10.0.0.0/8)' };
}

function pathOrUrl(raw: string): string | { allowed: string } {
  if (raw === '') return raw;
  if (/^https?:\/\//.test(raw)) {
    try {
      new URL(raw);
      return raw;
    } catch {
      return { allowed: 'a file path or an http(s):// URL' };
    }
  }
  return raw.trim().length > 0 ? raw : { allowed: 'a file path or an http(s):// URL' };
}

const text = (raw: string): string => raw;

/** The option keeps the text (`off` or `RATE[:BURST]`); {@link parseRateLimit} reads it. */
function rateLimit(raw: string): string | { allowed: string } {
  const parsed = parseRateLimit(raw);
  if (parsed === 'off') return 'off';
  return 'allowed' in parsed ? parsed : raw.trim();
}

/** The options of authentication, authorization, rate limits and connection bounds (README "Security"). */
export const SECURITY_OPTION_SPECS = {
  auth: { flag: 'auth', env: 'TALLY_AUTH', default: widen<AuthMode>('none'), doc: 'api authentication: none (trust the path; loopback only unless --allow-unauthenticated) or jwt (bearer tokens)', parse: oneOf<AuthMode>('none', 'jwt') },
  jwtJwks: { flag: 'jwt-jwks', env: 'TALLY_JWT_JWKS', default: '', doc: 'jwt: JWKS file or http(s) URL of the public keys (refreshed on an unknown kid)', parse: pathOrUrl },
  jwtSecretFile: { flag: 'jwt-secret-file', env: 'TALLY_JWT_SECRET_FILE', default: '', doc: 'jwt: file holding the HS256 secret (at least 32 bytes), instead of --jwt-jwks', parse: text },
  jwtIssuer: { flag: 'jwt-issuer', env: 'TALLY_JWT_ISSUER', default: '', doc: 'jwt: required iss claim', parse: text },
  jwtAudience: { flag: 'jwt-audience', env: 'TALLY_JWT_AUDIENCE', default: '', doc: 'jwt: required aud claim', parse: text },
  jwtClockSkewS: { flag: 'jwt-clock-skew-s', env: 'TALLY_JWT_CLOCK_SKEW_S', default: 30, doc: 'jwt: seconds of clock skew allowed on exp and nbf', parse: int(0, 300) },
  authReads: { flag: 'auth-reads', env: 'TALLY_AUTH_READS', default: false, doc: 'jwt: counts need a valid token too', parse: bool },
  likers: { flag: 'likers', env: 'TALLY_LIKERS', default: widen<LikersAccess>('public'), doc: 'who may list a post\'s likers: public, or service (tokens with the likers:read scope)', parse: oneOf<LikersAccess>('public', 'service') },
  userLikes: { flag: 'user-likes', env: 'TALLY_USER_LIKES', default: widen<UserLikesAccess>('private'), doc: "jwt: who may read a user's Likes tab (GET /v1/users/{userId}/likes): private (the user itself, services with likers:read or admin) or public", parse: oneOf<UserLikesAccess>('private', 'public') },
  allowUnauthenticated: { flag: 'allow-unauthenticated', env: 'TALLY_ALLOW_UNAUTHENTICATED', default: false, doc: 'let --auth none listen on an address that is not loopback (a gateway must authenticate)', parse: bool },
  rateLimitUser: { flag: 'rate-limit-user', env: 'TALLY_RATE_LIMIT_USER', default: 'off', doc: 'writes per second per acting user, RATE[:BURST], or off', parse: rateLimit },
  rateLimitIp: { flag: 'rate-limit-ip', env: 'TALLY_RATE_LIMIT_IP', default: 'off', doc: 'requests per second per client IP, RATE[:BURST], or off', parse: rateLimit },
  trustProxy: { flag: 'trust-proxy', env: 'TALLY_TRUST_PROXY', default: 'false', doc: 'take the client IP from X-Forwarded-For set by these proxies: false, or addresses/CIDRs', parse: trustProxy },
  headersTimeoutMs: { flag: 'headers-timeout-ms', env: 'TALLY_HEADERS_TIMEOUT_MS', default: 10_000, doc: 'a client must send its request headers within this many ms (408)', parse: int(100, 600_000) },
  requestTimeoutMs: { flag: 'request-timeout-ms', env: 'TALLY_REQUEST_TIMEOUT_MS', default: 30_000, doc: 'a client must send its whole request within this many ms (408)', parse: int(100, 600_000) },
  keepAliveTimeoutMs: { flag: 'keep-alive-timeout-ms', env: 'TALLY_KEEP_ALIVE_TIMEOUT_MS', default: 5_000, doc: 'an idle keep-alive connection is closed after this many ms', parse: int(100, 600_000) },
  maxConnections: { flag: 'max-connections', env: 'TALLY_MAX_CONNECTIONS', default: 10_000, doc: 'open connections beyond which new ones are refused', parse: int(1, 1_000_000) },
} satisfies Record<string, OptionSpec<unknown>>;
