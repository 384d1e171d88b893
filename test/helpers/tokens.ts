import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export const ISSUER = 'https://id.test.example';
export const AUDIENCE = 'tally-test';

/** An RSA key pair published as a JWKS file, and an HS256 secret file, in `dir`. */
export interface TestKeys {
  readonly jwksFile: string;
  readonly secretFile: string;
  readonly secret: Uint8Array;
  readonly publicPem: string;
  /** RS256 with the published key. */
  rs(payload: JWTPayload, options?: SignOptions): Promise<string>;
  /** RS256 with a key that is not published (kid "k-unknown"). */
  unknownKey(payload: JWTPayload): Promise<string>;
  /** HS256 with the secret file's secret. */
  hs(payload: JWTPayload, options?: SignOptions): Promise<string>;
}

export interface SignOptions {
  readonly expiresIn?: string | number;
  readonly notBefore?: string | number;
  readonly issuer?: string;
  readonly audience?: string;
}

async function sign(payload: JWTPayload, alg: string, key: CryptoKey | Uint8Array, kid: string | undefined, options: SignOptions): Promise<string> {
  const jwt = new SignJWT(payload)
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expiresIn ?? '10m');
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(key);
}

export async function makeTestKeys(dir: string, kid = 'k1'): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const secretText = 'test-secret-of-more-than-32-bytes-0123456789';
  const secretFile = join(dir, 'secret.txt');
  writeFileSync(secretFile, `${secretText}\n`);
  const secret = new TextEncoder().encode(secretText);
  return {
    jwksFile,
    secretFile,
    secret,
    publicPem: await exportSPKI(publicKey),
    rs: (payload, options = {}) => sign(payload, 'RS256', privateKey, kid, options),
    unknownKey: (payload) => sign(payload, 'RS256', other.privateKey, 'k-unknown', {}),
    hs: (payload, options = {}) => sign(payload, 'HS256', secret, undefined, options),
  };
}

/** A token with `alg: none` and no signature. */
export function unsignedToken(payload: JWTPayload): string {
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, ...payload })}.`;
}

/** The token with its payload replaced by `payload` and its signature kept. */
export function tamperedToken(token: string, payload: JWTPayload): string {
  const [header, , signature] = token.split('.');
  const now = Math.floor(Date.now() / 1000);
  return `${header ?? ''}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, ...payload })).toString('base64url')}.${signature ?? ''}`;
}
