import Fastify, { LogController, type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isTallyError, type ErrorCode } from '../../domain/errors.ts';
import { ERROR_STATUS } from './error-statuses.ts';
import type { Api, ApiDeps, ApiOptions } from './api-types.ts';
import { registerOpsRoutes } from './routes/ops-routes.ts';
import { registerReadRoutes } from './routes/read-routes.ts';
import { registerDashboardRoutes } from './dashboard/dashboard-routes.ts';
import { registerStreamRoutes } from './routes/stream-routes.ts';
import { registerWriteRoutes } from './routes/write-routes.ts';
import { validatorCompiler } from './validators.ts';

/** The HTTP API v1 of DESIGN.md, with OpenAPI at /docs. */
export async function buildApi(deps: ApiDeps, options: ApiOptions): Promise<Api> {
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Plain JSON.parse (the scan for __proto__ keys costs ~4% of a bulk write); a body carrying
    // such a key still fails validation, since every schema forbids extra properties.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());

  await app.register(swagger, {
    openapi: {
      info: { title: 'Tally HTTP API', version: '1', description: 'Exact, fresh likes counts. Errors are {"error": {"code", "message"}}; codes are listed in the README.' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, message } = describeError(error);
    const status = ERROR_STATUS[code];
    if (status >= 500 && !(isTallyError(error) && error.retriable)) request.log.error({ err: error, url: request.url }, 'request failed');
    if (code === 'overloaded' || code === 'ingest_lagging' || code === 'too_many_streams') void reply.header('retry-after', '1');
    else if (code === 'backend_unavailable') void reply.header('retry-after', '2');
    return reply.status(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see /docs for the API` } }),
  );

  registerWriteRoutes(app, deps, options);
  registerReadRoutes(app, deps, options);
  registerOpsRoutes(app, deps);
  if (deps.live !== undefined) {
    registerStreamRoutes(app, deps.live, options);
    registerDashboardRoutes(app, deps.live);
  }
  return app;
}

function describeError(error: FastifyError): { code: ErrorCode; message: string } {
  if (isTallyError(error)) return { code: error.code, message: error.message };
  if (error.validation !== undefined) {
    const where = error.validationContext ?? 'request';
    const code: ErrorCode = where === 'params' ? 'invalid_id' : where === 'body' ? 'invalid_body' : where === 'querystring' ? 'invalid_query' : 'invalid_body';
    const hint =
      code === 'invalid_id'
        ? 'ids are 1 to 64 characters of A-Z a-z 0-9 _ -'
        : code === 'invalid_body'
          ? 'expected {"events": [{"op": "like"|"unlike", "postId": "...", "userId": "..."}]}'
          : 'see /docs for the allowed query parameters';
    return { code, message: `${error.message}; ${hint}` };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'body_too_large', message: `${error.message}; split the batch into smaller requests` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', message: `${error.message}; send Content-Type: application/json` };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'invalid_json', message: `${error.message}; the body must be valid JSON` };
    default:
      break;
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return { code: 'invalid_json', message: `the body is not valid JSON: ${error.message}` };
  }
  if (error.statusCode === 413) return { code: 'body_too_large', message: error.message };
  if (error.statusCode === 415) return { code: 'unsupported_media_type', message: error.message };
  return { code: 'internal', message: 'internal error; the server log has the details' };
}
