import { errors, jwtVerify, type JWTPayload } from 'jose';
import { TallyError } from '../../../domain/errors.ts';
import type { KeySource } from './key-source.ts';
import type { Principal } from './principal.ts';
import { forgetOldest, tenthOf } from '../../../domain/bounded-map.ts';

export interface TokenVerifierOptions {
  /** Required `iss`. */
  readonly issuer: string;
  /** Required `aud` (one of the token's audiences). */
  readonly audience: string;
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  readonly clockSkewS: number;
  /** Verified tokens remembered (bounded), so a client's repeated token is verified once. */
  readonly cacheEntries?: number;
  /** Longest time a verified token is remembered, whatever its `exp`. */
  readonly cacheMs?: number;
}

interface Remembered {
  readonly principal: Principal;
  readonly until: number;
}

/**
 * Verifies bearer JWTs (jose): signature with a key of the key source and only its algorithms,
 * `iss`, `aud`, `exp` (required) and `nbf` within the clock skew, and a `sub`. A token with a
 * `scope` claim is a service token. Every refusal is a TallyError `unauthenticated` saying why;
 * a key source that cannot be reached (a JWKS URL down) is `backend_unavailable`.
 */
export class TokenVerifier {
  readonly #keys: KeySource;
  readonly #options: TokenVerifierOptions;
  readonly #cache = new Map<string, Remembered>();
  readonly #cacheEntries: number;
  readonly #cacheMs: number;

  constructor(keys: KeySource, options: TokenVerifierOptions) {
    this.#keys = keys;
    this.#options = options;
    this.#cacheEntries = options.cacheEntries ?? 10_000;
    this.#cacheMs = options.cacheMs ?? 60_000;
  }

  /** Where the keys come from, for the start-up log. */
  describe(): string {
    return `${this.#keys.describe()}, issuer ${this.#options.issuer}, audience ${this.#options.audience}`;
  }

  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const remembered = this.#cache.get(token);
    if (remembered !== undefined) {
      if (remembered.until > now) return remembered.principal;
      this.#cache.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.#keys.key(header), {
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        algorithms: [...this.#keys.algorithms],
        clockTolerance: this.#options.clockSkewS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw refusal(error);
    }
    const principal = toPrincipal(payload);
    const until = Math.min(now + this.#cacheMs, ((payload.exp ?? 0) + this.#options.clockSkewS) * 1000);
    if (this.#cache.size >= this.#cacheEntries) forgetOldest(this.#cache, tenthOf(this.#cacheEntries));
    this.#cache.set(token, { principal, until });
    return principal;
  }
}

function toPrincipal(payload: JWTPayload): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new TallyError('unauthenticated', 'the token has no "sub" claim; send a token naming its subject');
  const scope = payload.scope;
  if (scope === undefined) return { kind: 'user', sub };
  if (typeof scope !== 'string') throw new TallyError('unauthenticated', 'the token\'s "scope" claim is not a space-separated string');
  return { kind: 'service', sub, scopes: new Set(scope.split(' ').filter((s) => s.length > 0)) };
}

function refusal(error: unknown): TallyError {
  if (error instanceof TallyError) return error;
  if (error instanceof errors.JWTExpired) return new TallyError('unauthenticated', 'the token has expired; get a new one');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const reason = error.claim === 'nbf' ? 'is not valid yet (nbf)' : error.claim === 'iss' ? 'has the wrong issuer (iss)' : error.claim === 'aud' ? 'has the wrong audience (aud)' : `has a bad "${error.claim}" claim (${error.reason})`;
    return new TallyError('unauthenticated', `the token ${reason}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new TallyError('unauthenticated', 'the token\'s algorithm is not allowed for this server\'s keys');
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TallyError('unauthenticated', 'the token\'s signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return new TallyError('unauthenticated', 'no key of this server matches the token (kid, alg)');
  if (error instanceof errors.JWKSTimeout) return new TallyError('backend_unavailable', 'the JWKS endpoint did not answer in time; retry', { cause: error, retriable: true });
  if (error instanceof errors.JOSEError) return new TallyError('unauthenticated', `the token is not a valid JWT (${error.code})`);
  return new TallyError('backend_unavailable', `the keys to verify the token could not be fetched: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retriable: true });
}
