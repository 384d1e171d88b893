import { Type } from 'typebox';
import { ErrorBody } from '../schemas.ts';
import type { Api, ApiDeps } from '../api-types.ts';

/** Liveness, readiness and Prometheus metrics. */
export function registerOpsRoutes(app: Api, deps: ApiDeps): void {
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness: 200 only when every stage runs', response: { 200: Type.Object({ status: Type.String() }), 503: ErrorBody } } }, async (_request, reply) => {
    const down = deps.notReady();
    if (down.length === 0) return { status: 'ready' };
    return reply.status(503).send({ error: { code: 'not_ready', message: `stages not running: ${down.join(', ')}` } });
  });

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    const text = await deps.metrics.render();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}
