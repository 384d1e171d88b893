import { createRemoteJWKSet } from 'jose';
import { PUBLIC_KEY_ALGORITHMS, header, type KeyMaterial, type KeySelector, type KeySource } from './key-source.ts';

/**
 * The public keys served at a JWKS URL (an identity provider's `jwks_uri`), fetched on first use,
 * cached for `cacheMaxAgeMs`, and fetched again when a token names an unknown `kid` (at most once
 * per `cooldownMs`, so forged kids cannot make Tally hammer the provider).
 */
export class JwksUrlSource implements KeySource {
  readonly algorithms = PUBLIC_KEY_ALGORITHMS;
  readonly #url: URL;
  readonly #keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(url: string, options: { readonly cooldownMs?: number; readonly cacheMaxAgeMs?: number; readonly timeoutMs?: number } = {}) {
    this.#url = new URL(url);
    this.#keys = createRemoteJWKSet(this.#url, {
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
      timeoutDuration: options.timeoutMs ?? 5_000,
    });
  }

  key(selector: KeySelector): Promise<KeyMaterial> {
    return this.#keys(header(selector));
  }

  describe(): string {
    return `JWKS ${this.#url.origin}${this.#url.pathname}`;
  }
}
