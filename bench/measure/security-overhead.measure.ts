/**
 * Measures what --auth jwt and rate limits cost per request on the hot paths, in CPU time of the
 * process (less sensitive than throughput to a loaded, shared machine; not part of `npm test`):
 *   ./tally node bench/measure/security-overhead.measure.ts [rounds=4] [requests=20000]
 * Each round starts one child process per variant, in turn: `none` (defaults), `jwt` (HS256, a
 * service token on every request), `limits` (per-IP and per-user limits set high enough never to
 * refuse) and `jwt+limits`. A child runs an embedded app (pipeline thread on, as `./tally serve`)
 * (`VARIANTS=none,ip,user` picks others: `ip` or `user` is one limit alone) and drives it through fastify inject, 64 requests in flight: `requests` single likes (PUT),
 * then as many single counts (GET), and reports CPU µs per request of each. The least of the
 * rounds is kept per variant (interference only ever adds), and compared with `none`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { createApp, type StageName } from '../../src/composition/app.ts';
import { createEmbeddedPorts } from '../../src/composition/embedded-ports.ts';
import { loadOptions, type Options } from '../../src/config/options.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';

const ALL_STAGES: ReadonlySet<StageName> = new Set(['api', 'ingest', 'counter', 'reconcile']);
const VARIANTS = (process.env.VARIANTS ?? 'none,jwt,limits,jwt+limits').split(',');
const SECRET = 'overhead-measure-secret-of-more-than-32-bytes';

async function child(variant: string, requests: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-overhead-'));
  writeFileSync(join(dir, 'secret'), SECRET);
  const jwt = variant.includes('jwt');
  const overrides: Partial<Options> = {
    ...(jwt ? { auth: 'jwt', jwtSecretFile: join(dir, 'secret'), jwtIssuer: 'iss', jwtAudience: 'aud' } : {}),
    ...(variant.includes('limits') || variant === 'ip' ? { rateLimitIp: '1000000:1000000' } : {}),
    ...(variant.includes('limits') || variant === 'user' ? { rateLimitUser: '1000000:1000000' } : {}),
  };
  // The defaults a user gets (as `./tally serve`), with reconcile off and short idle polls.
  const options: Options = { ...loadOptions(new Map(), {}), port: 0, reconcileIntervalMs: 0, idleMs: 50, dataDir: dir, pipelineThread: true, logLevel: 'error', ...overrides };
  const app = await createApp(createEmbeddedPorts(options), options, ALL_STAGES, createLogger(options.logLevel), new Metrics({ defaultMetrics: false }));
  await app.start();
  const api = app.api;
  if (api === undefined) throw new Error('no api');
  const token = await new SignJWT({ scope: 'likes:write likers:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setIssuer('iss').setAudience('aud').setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  const headers: Record<string, string> = jwt ? { authorization: `Bearer ${token}` } : {};
  const result: Record<string, number> = {};
  for (const kind of ['like', 'count'] as const) {
    let next = 0;
    const before = process.cpuUsage();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < requests) {
          const i = next++;
          const url = kind === 'like' ? `/v1/posts/p${i % 5000}/likes/u${i}` : `/v1/posts/p${i % 5000}/count`;
          const res = await api.inject({ method: kind === 'like' ? 'PUT' : 'GET', url, headers });
          if (res.statusCode >= 300) throw new Error(`${kind}: ${res.statusCode} ${res.body}`);
        }
      }),
    );
    const used = process.cpuUsage(before);
    result[kind] = (used.user + used.system) / requests;
  }
  await app.stop(5000);
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] ?? 'none', Number(process.argv[4] ?? 20_000));
} else {
  const rounds = Number(process.argv[2] ?? 4);
  const requests = Number(process.argv[3] ?? 20_000);
  const best = new Map<string, { like: number; count: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const variant of VARIANTS) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant, String(requests)], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { like: number; count: number };
      const b = best.get(variant);
      best.set(variant, { like: Math.min(b?.like ?? Infinity, r.like), count: Math.min(b?.count ?? Infinity, r.count) });
    }
  }
  const base = best.get('none') ?? { like: Number.NaN, count: Number.NaN };
  for (const kind of ['like', 'count'] as const) {
    const line = VARIANTS.map((v) => {
      const us = best.get(v)?.[kind] ?? Number.NaN;
      return `${v} ${us.toFixed(1)} µs (none/${v} ${(base[kind] / us).toFixed(2)})`;
    }).join(', ');
    process.stdout.write(`${kind}: least CPU per request over ${rounds} rounds of ${requests}: ${line}\n`);
  }
}
