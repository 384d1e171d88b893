import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, type JSONWebKeySet } from 'jose';
import { TallyError } from '../../../domain/errors.ts';
import { PUBLIC_KEY_ALGORITHMS, header, type KeyMaterial, type KeySelector, type KeySource } from './key-source.ts';

/**
 * The public keys of a JWKS file. A token whose `kid` is unknown makes the file be read again
 * (at most once per `rereadMs`), so a rotated key is picked up without a restart.
 */
export class JwksFileSource implements KeySource {
  readonly algorithms = PUBLIC_KEY_ALGORITHMS;
  readonly #path: string;
  readonly #rereadMs: number;
  #keys: ReturnType<typeof createLocalJWKSet>;
  /** When an unknown kid last made the file be read again. */
  #rereadAt = 0;

  constructor(path: string, options: { readonly rereadMs?: number } = {}) {
    this.#path = path;
    this.#rereadMs = options.rereadMs ?? 5_000;
    this.#keys = this.#read();
  }

  async key(selector: KeySelector): Promise<KeyMaterial> {
    try {
      return await this.#keys(header(selector));
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - this.#rereadAt < this.#rereadMs) throw error;
      this.#rereadAt = Date.now();
      try {
        this.#keys = this.#read();
      } catch {
        // Keep the keys we had: a half-written file must not lock everyone out.
        throw error;
      }
      return this.#keys(header(selector));
    }
  }

  describe(): string {
    return `JWKS file ${this.#path}`;
  }

  #read(): ReturnType<typeof createLocalJWKSet> {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(readFileSync(this.#path, 'utf8')) as JSONWebKeySet;
    } catch (cause) {
      throw new TallyError('invalid_option', `--jwt-jwks ${this.#path} is not a readable JSON Web Key Set: ${(cause as Error).message}`, { cause });
    }
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new TallyError('invalid_option', `--jwt-jwks ${this.#path} has no "keys"`);
    const secret = jwks.keys.find((k) => k.kty === 'oct' || 'd' in k);
    if (secret !== undefined) {
      throw new TallyError('invalid_option', `--jwt-jwks ${this.#path} holds a secret or private key (kid ${secret.kid ?? '?'}); publish only public keys, or use --jwt-secret-file for HS256`);
    }
    return createLocalJWKSet(jwks);
  }
}
