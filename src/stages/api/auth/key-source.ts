import type { webcrypto } from 'node:crypto';
import type { JWSHeaderParameters } from 'jose';

/** A key that verifies signatures: a Web Crypto key, or the bytes of a secret. */
export type KeyMaterial = webcrypto.CryptoKey | Uint8Array;

/** The protected header fields a key source selects a key by. */
export interface KeySelector {
  readonly alg?: string | undefined;
  readonly kid?: string | undefined;
}

/**
 * Where the keys that verify tokens come from (an HS256 secret, a JWKS file or URL). The
 * algorithms are pinned to the kind of key: a secret accepts only HS256, public keys only
 * asymmetric algorithms, so `alg: none` and an RS/HS confusion never verify.
 */
export interface KeySource {
  /** The JWS algorithms this source's keys verify; any other `alg` is refused before a key is looked up. */
  readonly algorithms: readonly string[];
  /** The key for a token's header; throws when no key matches (an unknown `kid` may trigger a refresh first). */
  key(selector: KeySelector): Promise<KeyMaterial>;
  /** A line for the start-up log. */
  describe(): string;
}

/** Asymmetric JWS algorithms: what a JWKS of public keys may verify. */
export const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** A selector as jose's key resolvers take it. */
export function header(selector: KeySelector): JWSHeaderParameters {
  const out: JWSHeaderParameters = {};
  if (selector.alg !== undefined) out.alg = selector.alg;
  if (selector.kid !== undefined) out.kid = selector.kid;
  return out;
}
