import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JwksUrlSource } from '../../../../src/stages/api/auth/jwks-url-source.ts';
import { TokenVerifier } from '../../../../src/stages/api/auth/token-verifier.ts';
import { AUDIENCE, ISSUER, makeTestKeys } from '../../../helpers/tokens.ts';

test('a JWKS URL is fetched on first use and again when a token names an unknown kid (after the cooldown)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-jwks-url-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await makeTestKeys(join(dir), 'k1');
  let served = readFileSync(first.jwksFile, 'utf8');
  let fetches = 0;
  const server = createServer((_request, response) => {
    fetches++;
    response.writeHead(200, { 'content-type': 'application/json' }).end(served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;

  const verifier = new TokenVerifier(new JwksUrlSource(url, { cooldownMs: 200 }), { issuer: ISSUER, audience: AUDIENCE, clockSkewS: 30 });
  assert.deepEqual(await verifier.verify(await first.rs({ sub: 'alice' })), { kind: 'user', sub: 'alice' });
  assert.equal(fetches, 1);
  await assert.rejects(verifier.verify(await first.hs({ sub: 'alice' })), /algorithm is not allowed/, 'an HS256 token never verifies against public keys');

  const rotated = await makeTestKeys(join(dir), 'k2');
  served = readFileSync(rotated.jwksFile, 'utf8');
  await new Promise((resolve) => setTimeout(resolve, 250));
  const principal = await verifier.verify(await rotated.rs({ sub: 'svc', scope: 'likes:write' }));
  assert.equal(principal.kind, 'service');
  assert.equal(fetches, 2, 'the unknown kid made the set be fetched again');
});

test('a JWKS URL that cannot be reached is backend_unavailable (503), not a 401', async () => {
  const verifier = new TokenVerifier(new JwksUrlSource('http://127.0.0.1:9/jwks.json', { timeoutMs: 500 }), { issuer: ISSUER, audience: AUDIENCE, clockSkewS: 30 });
  const dir = mkdtempSync(join(tmpdir(), 'tally-jwks-url-'));
  try {
    const keys = await makeTestKeys(dir);
    await assert.rejects(verifier.verify(await keys.rs({ sub: 'alice' })), (error: { code?: string }) => error.code === 'backend_unavailable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
