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

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics',
        description: 'All of them; with name= (repeatable), only the metrics of those names (unknown names give nothing)',
        // A single name= arrives as a one-element array (query strings are coerced to the schema).
        querystring: Type.Object({ name: Type.Optional(Type.Array(Type.String({ pattern: METRIC_NAME }), { maxItems: 50 })) }),
        // The 200 is Prometheus text (documented, sent as the string prom-client renders).
        response: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } }, '4xx': ErrorBody },
      },
    },
    async (request, reply) => {
      const text = await deps.metrics.render(request.query.name);
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}

/** A Prometheus metric name. */
const METRIC_NAME = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
